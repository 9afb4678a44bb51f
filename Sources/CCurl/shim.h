#ifndef HEMOSTAT_CCURL_SHIM_H
#define HEMOSTAT_CCURL_SHIM_H

#include <curl/curl.h>

/// `curl_global_init(CURL_GLOBAL_DEFAULT)`: the flag is a macro Swift cannot import.
static inline CURLcode hs_curl_global_init(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

/// `curl_easy_setopt` is variadic: one typed wrapper per argument kind.
static inline CURLcode hs_curl_setopt_long(CURL *h, CURLoption o, long v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode hs_curl_setopt_ptr(CURL *h, CURLoption o, const void *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode hs_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) {
    return curl_easy_setopt(h, o, v);
}

/// CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION.
typedef size_t (*hs_curl_data_callback)(char *buffer, size_t size, size_t count, void *userdata);
static inline CURLcode hs_curl_setopt_data_callback(CURL *h, CURLoption o, hs_curl_data_callback cb) {
    return curl_easy_setopt(h, o, cb);
}

/// CURLOPT_XFERINFOFUNCTION.
typedef int (*hs_curl_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                         curl_off_t ultotal, curl_off_t ulnow);
static inline CURLcode hs_curl_setopt_xferinfo_callback(CURL *h, CURLoption o, hs_curl_xferinfo_callback cb) {
    return curl_easy_setopt(h, o, cb);
}

/// A blob option (CURLOPT_CAINFO_BLOB); libcurl copies the bytes before returning.
static inline CURLcode hs_curl_setopt_blob_copy(CURL *h, CURLoption o, const void *data, size_t length) {
    struct curl_blob blob;
    blob.data = (void *)data;
    blob.len = length;
    blob.flags = CURL_BLOB_COPY;
    return curl_easy_setopt(h, o, &blob);
}

/// `curl_multi_setopt` is variadic too.
static inline CURLMcode hs_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) {
    return curl_multi_setopt(m, o, v);
}

/// `curl_easy_getinfo` is variadic: one typed wrapper per result kind.
static inline CURLcode hs_curl_getinfo_long(CURL *h, CURLINFO i, long *out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLcode hs_curl_getinfo_double(CURL *h, CURLINFO i, double *out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLcode hs_curl_getinfo_ptr(CURL *h, CURLINFO i, void **out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLcode hs_curl_getinfo_string(CURL *h, CURLINFO i, const char **out) {
    return curl_easy_getinfo(h, i, out);
}

/// The result of a finished transfer: `CURLMsg.data` is a union.
static inline CURLcode hs_curl_msg_result(const CURLMsg *m) {
    return m->data.result;
}

#endif
