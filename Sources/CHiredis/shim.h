#ifndef HEMOSTAT_CHIREDIS_SHIM_H
#define HEMOSTAT_CHIREDIS_SHIM_H

#include <hiredis/hiredis.h>

/// `redisContext.errstr` is a fixed-size char array, which Swift imports as a tuple.
static inline const char *hs_redis_errstr(const redisContext *c) {
    return c->errstr;
}

#endif
