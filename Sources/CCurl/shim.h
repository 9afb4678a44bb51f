#ifndef HEMOSTAT_CCURL_SHIM_H
#define HEMOSTAT_CCURL_SHIM_H

#include <curl/curl.h>

/// `curl_easy_setopt` is variadic: one typed wrapper per argument kind.
static inline CURLcode hs_curl_setopt_long(CURL *h, CURLoption o, long v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode hs_curl_setopt_ptr(CURL *h, CURLoption o, const void *v) {
    return curl_easy_setopt(h, o, v);
}

#endif
