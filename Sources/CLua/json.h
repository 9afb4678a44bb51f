#ifndef HEMOSTAT_CLUA_JSON_H
#define HEMOSTAT_CLUA_JSON_H

/* ---------------------------------------------------------------------------------------
 * JSON text straight into Lua tables, for the alerts the rules read.
 *
 * decode(bytes, length, split_key, split_only) is a lua_CFunction called under lua_pcall:
 *   bytes      light userdata: the UTF-8 text (not NUL-terminated; must outlive the call)
 *   length     integer
 *   split_key  string or nil
 *   split_only true: the other members of the top-level object are checked, not decoded,
 *              and the value returned is nil
 * returns the decoded value, then `columns, count, numeric` when the top-level value is an
 * object with a member `split_key` holding an array (that member is then left out of the
 * object; when the name occurs more than once, the last member counts), or `nil, nil, nil`.
 * `numeric[field]` is true when every value of that column is a number.
 *
 * Values: objects become tables keyed by string (members that are null are left out),
 * arrays 1-based tables (a null element leaves a hole), numbers with an integral value
 * below 2^53 in magnitude become Lua integers, others floats. Nesting is limited to
 * HS_JSON_MAX_DEPTH levels. Invalid text raises a Lua error "invalid JSON at byte N: why".
 *
 * The split array is decoded as columns: `columns[field][i]` is element i's member
 * `field`. Its elements are objects that usually share their member names, so each name is
 * interned once per document instead of once per element, and no table is made per element.
 * ------------------------------------------------------------------------------------- */

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#define HS_JSON_MAX_DEPTH 64
#define HS_JSON_MAX_COLUMNS 64
#define HS_JSON_MAX_COLUMN_NAME 64

typedef struct hs_json {
    lua_State *L;
    const unsigned char *p;
    const unsigned char *start;
    const unsigned char *end;
    int depth;
} hs_json;

static int hs_json_fail(hs_json *j, const char *why) {
    return luaL_error(j->L, "invalid JSON at byte %d: %s", (int)(j->p - j->start), why);
}

static inline void hs_json_skip_ws(hs_json *j) {
    const unsigned char *p = j->p, *end = j->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    j->p = p;
}

static void hs_json_value(hs_json *j);

/* After a member or an element: whitespace, then ',' (returns 1: another follows) or the
 * closing `close` (returns 0); anything else is an error. */
static inline __attribute__((always_inline)) int hs_json_next(hs_json *j, unsigned char close) {
    hs_json_skip_ws(j);
    if (j->p >= j->end) return hs_json_fail(j, close == '}' ? "unterminated object" : "unterminated array");
    if (*j->p == ',') { j->p++; return 1; }
    if (*j->p == close) { j->p++; return 0; }
    return hs_json_fail(j, close == '}' ? "',' or '}' expected" : "',' or ']' expected");
}

/* Whitespace, then the character `c`, consumed; anything else is the error `why`. */
static inline __attribute__((always_inline)) void hs_json_expect(hs_json *j, unsigned char c, const char *why) {
    hs_json_skip_ws(j);
    if (j->p >= j->end || *j->p != c) hs_json_fail(j, why);
    j->p++;
}


/* Pushes an integral double as an integer when it is exactly representable, as the Swift
 * side does for numbers it pushes. */
static void hs_json_push_double(lua_State *L, double d) {
    if (d == floor(d) && fabs(d) < 9.0e15) lua_pushinteger(L, (lua_Integer)d);
    else lua_pushnumber(L, d);
}

static void hs_json_number(hs_json *j) {
    static const double pow10[] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    };
    const unsigned char *begin = j->p, *p = j->p, *end = j->end;
    int negative = 0;
    uint64_t mantissa = 0;
    int digits = 0;      /* significant digits accumulated in mantissa */
    int dropped = 0;     /* integer digits that did not fit in mantissa */
    int exponent = 0;    /* decimal exponent applied to mantissa */
    int fraction = 0;
    if (p < end && *p == '-') { negative = 1; p++; }
    if (p >= end) { j->p = p; hs_json_fail(j, "number expected"); }
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        unsigned d;
        while (p < end && (d = (unsigned)(*p - '0')) <= 9) {
            if (digits < 19) { mantissa = mantissa * 10 + d; digits++; }
            else dropped++;
            p++;
        }
    } else {
        j->p = p;
        hs_json_fail(j, "number expected");
    }
    if (p < end && *p == '.') {
        fraction = 1;
        p++;
        if (p >= end || *p < '0' || *p > '9') { j->p = p; hs_json_fail(j, "digit expected after '.'"); }
        unsigned d;
        while (p < end && (d = (unsigned)(*p - '0')) <= 9) {
            /* Zeros before the first significant digit only scale the value. */
            if (mantissa == 0 && d == 0) exponent--;
            else if (digits < 19) { mantissa = mantissa * 10 + d; digits++; exponent--; }
            p++;
        }
    }
    int exp_part = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        fraction = 1;
        p++;
        int exp_negative = 0;
        if (p < end && (*p == '+' || *p == '-')) { exp_negative = *p == '-'; p++; }
        if (p >= end || *p < '0' || *p > '9') { j->p = p; hs_json_fail(j, "digit expected in exponent"); }
        while (p < end && *p >= '0' && *p <= '9') {
            if (exp_part < 100000) exp_part = exp_part * 10 + (*p - '0');
            p++;
        }
        if (exp_negative) exp_part = -exp_part;
    }
    j->p = p;
    lua_State *L = j->L;
    if (!fraction && dropped == 0) {
        if (mantissa < (1ULL << 53)) {
            lua_pushinteger(L, negative ? -(lua_Integer)mantissa : (lua_Integer)mantissa);
            return;
        }
        if (mantissa <= (uint64_t)INT64_MAX) {
            lua_pushnumber(L, negative ? -(double)mantissa : (double)mantissa);
            return;
        }
    }
    exponent += exp_part + dropped;
    /* Exact when the mantissa and the power of ten are both exact doubles. */
    if (mantissa < (1ULL << 53) && exponent >= -22 && exponent <= 22) {
        double d = (double)mantissa;
        d = exponent < 0 ? d / pow10[-exponent] : d * pow10[exponent];
        hs_json_push_double(L, negative ? -d : d);
        return;
    }
    char buffer[512];
    size_t length = (size_t)(p - begin);
    if (length >= sizeof(buffer)) hs_json_fail(j, "number too long");
    memcpy(buffer, begin, length);
    buffer[length] = '\0';
    hs_json_push_double(L, strtod(buffer, NULL));
}

static unsigned hs_json_hex4(hs_json *j) {
    if (j->end - j->p < 4) hs_json_fail(j, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = *j->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else { j->p--; hs_json_fail(j, "bad \\u escape"); }
    }
    return v;
}

static void hs_json_utf8(luaL_Buffer *b, unsigned cp) {
    char out[4];
    int n;
    if (cp < 0x80) { out[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    luaL_addlstring(b, out, (size_t)n);
}

/* Scans a string starting after its opening quote. Without escapes, sets *span/*length to
 * the raw bytes and pushes nothing (returns 0); with escapes, pushes the decoded string
 * (returns 1). Leaves j->p after the closing quote. */
static int hs_json_scan_string(hs_json *j, const unsigned char **span, size_t *length) {
    /* 1 for the bytes that end the fast scan: '"', '\\' and control characters. */
    static const unsigned char special[256] = {
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    };
    const unsigned char *s = j->p;
    const unsigned char *p = s;
    const unsigned char *end = j->end;
    /* Eight bytes at a time while none of them is special. */
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
        uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
        uint64_t found = ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | ((x - ones * 0x20) & ~x);
        if (found & highs) break;
        p += 8;
    }
    while (p < end && !special[*p]) p++;
    if (p < end && *p == '"') {
        *span = s;
        *length = (size_t)(p - s);
        j->p = p + 1;
        return 0;
    }
    j->p = p;
    if (p >= end) hs_json_fail(j, "unterminated string");
    if (*p != '\\') hs_json_fail(j, "control character in string");
    /* Escapes: decode into a buffer. The buffer may sit on the Lua stack. */
    luaL_Buffer b;
    luaL_buffinit(j->L, &b);
    luaL_addlstring(&b, (const char *)s, (size_t)(j->p - s));
    while (j->p < j->end) {
        unsigned char c = *j->p++;
        if (c == '"') {
            luaL_pushresult(&b);
            return 1;
        }
        if (c < 0x20) { j->p--; hs_json_fail(j, "control character in string"); }
        if (c != '\\') { luaL_addchar(&b, (char)c); continue; }
        if (j->p >= j->end) break;
        c = *j->p++;
        switch (c) {
        case '"': luaL_addchar(&b, '"'); break;
        case '\\': luaL_addchar(&b, '\\'); break;
        case '/': luaL_addchar(&b, '/'); break;
        case 'b': luaL_addchar(&b, '\b'); break;
        case 'f': luaL_addchar(&b, '\f'); break;
        case 'n': luaL_addchar(&b, '\n'); break;
        case 'r': luaL_addchar(&b, '\r'); break;
        case 't': luaL_addchar(&b, '\t'); break;
        case 'u': {
            unsigned cp = hs_json_hex4(j);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                    const unsigned char *save = j->p;
                    j->p += 2;
                    unsigned low = hs_json_hex4(j);
                    if (low >= 0xDC00 && low <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    else { cp = 0xFFFD; j->p = save; }
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            hs_json_utf8(&b, cp);
            break;
        }
        default: j->p--; hs_json_fail(j, "bad escape in string");
        }
    }
    return hs_json_fail(j, "unterminated string");
}

static void hs_json_string(hs_json *j) {
    const unsigned char *span;
    size_t length;
    if (!hs_json_scan_string(j, &span, &length)) lua_pushlstring(j->L, (const char *)span, length);
}

static void hs_json_literal(hs_json *j, const char *word, size_t length) {
    if ((size_t)(j->end - j->p) < length || memcmp(j->p, word, length) != 0) hs_json_fail(j, "unexpected character");
    j->p += length;
}

static void hs_json_enter(hs_json *j) {
    if (++j->depth > HS_JSON_MAX_DEPTH) hs_json_fail(j, "nested too deeply");
    luaL_checkstack(j->L, 8, "JSON nesting");
}

static void hs_json_object_members(hs_json *j, int table, const char *split_key, size_t split_length,
                                   int *split_found, int keep_others);
static void hs_json_skip(hs_json *j);
static void hs_json_columns(hs_json *j);

/* Checks the value at j->p and moves past it without pushing anything. */
static void hs_json_skip(hs_json *j) {
    hs_json_skip_ws(j);
    if (j->p >= j->end) hs_json_fail(j, "value expected");
    const unsigned char *span;
    size_t length;
    switch (*j->p) {
    case '{':
        j->p++;
        hs_json_enter(j);
        hs_json_skip_ws(j);
        if (j->p < j->end && *j->p == '}') { j->p++; j->depth--; return; }
        for (;;) {
            hs_json_expect(j, '"', "member name expected");
            if (hs_json_scan_string(j, &span, &length)) lua_pop(j->L, 1);
            hs_json_expect(j, ':', "':' expected");
            hs_json_skip(j);
            if (hs_json_next(j, '}')) continue;
            break;
        }
        j->depth--;
        return;
    case '[':
        j->p++;
        hs_json_enter(j);
        hs_json_skip_ws(j);
        if (j->p < j->end && *j->p == ']') { j->p++; j->depth--; return; }
        for (;;) {
            hs_json_skip(j);
            if (hs_json_next(j, ']')) continue;
            break;
        }
        j->depth--;
        return;
    case '"':
        j->p++;
        if (hs_json_scan_string(j, &span, &length)) lua_pop(j->L, 1);
        return;
    case 't': hs_json_literal(j, "true", 4); return;
    case 'f': hs_json_literal(j, "false", 5); return;
    case 'n': hs_json_literal(j, "null", 4); return;
    default:
        hs_json_number(j);
        lua_pop(j->L, 1);
        return;
    }
}

/* Objects and arrays of up to HS_JSON_BATCH members are collected on the stack first and
 * then put in a table made at their exact size: no rehash while it fills. */
#define HS_JSON_BATCH 48

static int hs_json_flush_pairs(lua_State *L, int base, int pairs, int more) {
    lua_createtable(L, 0, pairs + more);
    lua_insert(L, base + 1);
    int table = base + 1;
    for (int k = 0; k < pairs; k++) {
        lua_pushvalue(L, table + 1 + 2 * k);
        lua_pushvalue(L, table + 2 + 2 * k);
        lua_rawset(L, table);
    }
    lua_settop(L, table);
    return table;
}

static void hs_json_object(hs_json *j) {
    lua_State *L = j->L;
    hs_json_enter(j);
    luaL_checkstack(L, 2 * HS_JSON_BATCH + 8, "JSON object");
    int base = lua_gettop(L);
    int table = 0, pairs = 0;
    hs_json_skip_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
    } else {
        for (;;) {
            hs_json_expect(j, '"', "member name expected");
            hs_json_string(j);
            hs_json_expect(j, ':', "':' expected");
            /* null pushes nil, which removes an earlier member of the same name. */
            hs_json_value(j);
            if (table) lua_rawset(L, table);
            else if (++pairs == HS_JSON_BATCH) table = hs_json_flush_pairs(L, base, pairs, HS_JSON_BATCH);
            if (hs_json_next(j, '}')) continue;
            break;
        }
    }
    if (!table) hs_json_flush_pairs(L, base, pairs, 0);
    j->depth--;
}

/* Reads the members of an object whose '{' was consumed into the table at `table`. A
 * member named `split_key` holding an array is decoded with hs_json_columns and left on the
 * stack above the table (columns, count); *split_found is then set. */
static void hs_json_object_members(hs_json *j, int table, const char *split_key, size_t split_length,
                                   int *split_found, int keep_others) {
    lua_State *L = j->L;
    hs_json_skip_ws(j);
    if (j->p < j->end && *j->p == '}') { j->p++; return; }
    for (;;) {
        hs_json_expect(j, '"', "member name expected");
        const unsigned char *span;
        size_t length;
        int pushed = hs_json_scan_string(j, &span, &length);
        /* An escaped name: compare by its decoded bytes. */
        if (pushed) span = (const unsigned char *)lua_tolstring(L, -1, &length);
        int split = split_key != NULL && length == split_length && memcmp(span, split_key, length) == 0;
        if (split) {
            /* The last member of that name counts: drop what an earlier one gave. */
            if (pushed) { lua_pop(L, 1); pushed = 0; span = (const unsigned char *)split_key; }
            if (*split_found) { lua_pop(L, 3); *split_found = 0; }
            if (keep_others) { lua_pushlstring(L, split_key, split_length); lua_pushnil(L); lua_rawset(L, table); }
        }
        hs_json_expect(j, ':', "':' expected");
        hs_json_skip_ws(j);
        if (split && j->p < j->end && *j->p == '[') {
            j->p++;
            /* Columns, count and numeric stay on top; later members are set through the
             * table's absolute index. */
            hs_json_columns(j);
            *split_found = 1;
        } else if (!keep_others) {
            if (pushed) lua_pop(L, 1);
            hs_json_skip(j);
        } else {
            if (!pushed) lua_pushlstring(L, (const char *)span, length);
            /* null pushes nil, which removes an earlier member of the same name. */
            hs_json_value(j);
            lua_rawset(L, table);
        }
        if (hs_json_next(j, '}')) continue;
        return;
    }
}

static int hs_json_flush_elements(lua_State *L, int base, int count, int more) {
    lua_createtable(L, count + more, 0);
    lua_insert(L, base + 1);
    int table = base + 1;
    for (int k = 1; k <= count; k++) {
        if (lua_type(L, table + k) == LUA_TNIL) continue;
        lua_pushvalue(L, table + k);
        lua_rawseti(L, table, k);
    }
    lua_settop(L, table);
    return table;
}

static void hs_json_array(hs_json *j) {
    lua_State *L = j->L;
    hs_json_enter(j);
    luaL_checkstack(L, HS_JSON_BATCH + 8, "JSON array");
    int base = lua_gettop(L);
    int table = 0;
    lua_Integer i = 0;
    hs_json_skip_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
    } else {
        for (;;) {
            hs_json_skip_ws(j);
            i++;
            hs_json_value(j);  /* null pushes nil: a hole */
            if (table) {
                if (lua_type(L, -1) == LUA_TNIL) lua_pop(L, 1);
                else lua_rawseti(L, table, i);
            } else if (i == HS_JSON_BATCH) {
                table = hs_json_flush_elements(L, base, (int)i, HS_JSON_BATCH);
            }
            if (hs_json_next(j, ']')) continue;
            break;
        }
    }
    if (!table) hs_json_flush_elements(L, base, (int)i, 0);
    j->depth--;
}

/* Decodes an array (its '[' consumed) of objects as columns; pushes the columns table, the
 * element count and the table of all-number columns. Elements that are not objects count but
 * contribute nothing. */
static void hs_json_columns(hs_json *j) {
    lua_State *L = j->L;
    hs_json_enter(j);
    luaL_checkstack(L, 2 * HS_JSON_MAX_COLUMNS + 8, "JSON columns");
    int base = lua_gettop(L);  /* columns live at base + 2c + 1 (name), base + 2c + 2 (table) */
    struct {
        const unsigned char *name;
        size_t length;
        char copy[HS_JSON_MAX_COLUMN_NAME];
        /* The column's last plain string value, so that a repeated one ("running") reuses
         * the Lua string instead of interning it again. */
        const unsigned char *last;
        size_t last_length;
        lua_Integer last_index;
        int numeric;  /* every value so far is a number */
    } names[HS_JSON_MAX_COLUMNS];
    int count = 0;
    lua_Integer n = 0;
    hs_json_skip_ws(j);
    int empty = j->p < j->end && *j->p == ']';
    if (empty) j->p++;
    while (!empty) {
        hs_json_skip_ws(j);
        n++;
        if (j->p < j->end && *j->p == '{') {
            j->p++;
            hs_json_enter(j);
            int next = 0;
            hs_json_skip_ws(j);
            if (j->p < j->end && *j->p == '}') {
                j->p++;
            } else {
                for (;;) {
                    hs_json_expect(j, '"', "member name expected");
                    const unsigned char *span;
                    size_t length;
                    int pushed = hs_json_scan_string(j, &span, &length);
                    if (pushed) {
                        /* An escaped name: compare by its decoded bytes. */
                        span = (const unsigned char *)lua_tolstring(L, -1, &length);
                    }
                    int c = next;
                    if (c >= count || names[c].length != length || memcmp(names[c].name, span, length) != 0) {
                        for (c = 0; c < count; c++) {
                            if (names[c].length == length && memcmp(names[c].name, span, length) == 0) break;
                        }
                    }
                    if (c == count && count < HS_JSON_MAX_COLUMNS && length <= HS_JSON_MAX_COLUMN_NAME) {
                        memcpy(names[c].copy, span, length);
                        names[c].name = (const unsigned char *)names[c].copy;
                        names[c].length = length;
                        names[c].last = NULL;
                        names[c].numeric = 1;
                        if (pushed) {
                            lua_insert(L, base + 2 * c + 1);
                        } else {
                            lua_pushlstring(L, (const char *)span, length);
                        }
                        lua_createtable(L, 16, 0);
                        count++;
                    } else if (pushed) {
                        lua_pop(L, 1);
                    }
                    hs_json_expect(j, ':', "':' expected");
                    hs_json_skip_ws(j);
                    if (c < count && j->p < j->end && *j->p == '"') {
                        names[c].numeric = 0;
                        j->p++;
                        const unsigned char *text;
                        size_t text_length;
                        if (!hs_json_scan_string(j, &text, &text_length)) {
                            int reused = 0;
                            if (names[c].last != NULL && names[c].last_length == text_length
                                && memcmp(names[c].last, text, text_length) == 0) {
                                reused = lua_rawgeti(L, base + 2 * c + 2, names[c].last_index) == LUA_TSTRING;
                                if (!reused) lua_pop(L, 1);
                            }
                            if (!reused) lua_pushlstring(L, (const char *)text, text_length);
                            names[c].last = text;
                            names[c].last_length = text_length;
                            names[c].last_index = n;
                        }
                        lua_rawseti(L, base + 2 * c + 2, n);
                    } else {
                        if (c < count && j->p < j->end && *j->p != '-' && *j->p != 'n' && (*j->p < '0' || *j->p > '9')) {
                            names[c].numeric = 0;
                        }
                        /* null pushes nil, which clears an earlier member of the same name. */
                        hs_json_value(j);
                        if (c < count) lua_rawseti(L, base + 2 * c + 2, n);
                        else lua_pop(L, 1);  /* too many columns or too long a name: dropped */
                    }
                    next = c + 1;
                    if (hs_json_next(j, '}')) continue;
                    break;
                }
            }
            j->depth--;
        } else if (j->p < j->end && *j->p == 'n') {
            hs_json_literal(j, "null", 4);
        } else {
            hs_json_value(j);
            lua_pop(L, 1);
        }
        if (hs_json_next(j, ']')) continue;
        break;
    }
    lua_createtable(L, 0, count);
    int columns = lua_gettop(L);
    lua_createtable(L, 0, count);
    int numeric = columns + 1;
    for (int c = 0; c < count; c++) {
        lua_pushvalue(L, base + 2 * c + 1);
        lua_pushvalue(L, base + 2 * c + 2);
        lua_rawset(L, columns);
        if (names[c].numeric) {
            lua_pushvalue(L, base + 2 * c + 1);
            lua_pushboolean(L, 1);
            lua_rawset(L, numeric);
        }
    }
    lua_pushinteger(L, n);
    lua_rotate(L, -2, 1);  /* columns, count, numeric */
    int top = lua_gettop(L);
    for (int k = 0; k < 3; k++) lua_copy(L, top - 2 + k, base + 1 + k);
    lua_settop(L, base + 3);
    j->depth--;
}

static void hs_json_value(hs_json *j) {
    hs_json_skip_ws(j);
    if (j->p >= j->end) hs_json_fail(j, "value expected");
    switch (*j->p) {
    case '{': j->p++; hs_json_object(j); return;
    case '[': j->p++; hs_json_array(j); return;
    case '"': j->p++; hs_json_string(j); return;
    case 't': hs_json_literal(j, "true", 4); lua_pushboolean(j->L, 1); return;
    case 'f': hs_json_literal(j, "false", 5); lua_pushboolean(j->L, 0); return;
    case 'n': hs_json_literal(j, "null", 4); lua_pushnil(j->L); return;
    default: hs_json_number(j); return;
    }
}

static int hs_lua_json_decode(lua_State *L) {
    hs_json j;
    const unsigned char *bytes = (const unsigned char *)lua_touserdata(L, 1);
    lua_Integer length = luaL_checkinteger(L, 2);
    size_t split_length = 0;
    const char *split_key = lua_isstring(L, 3) ? lua_tolstring(L, 3, &split_length) : NULL;
    int keep_others = split_key == NULL || !lua_toboolean(L, 4);
    if (bytes == NULL && length > 0) return luaL_error(L, "no JSON text");
    lua_settop(L, 4);
    j.L = L;
    j.start = j.p = bytes;
    j.end = bytes + length;
    j.depth = 0;
    hs_json_skip_ws(&j);
    int split_found = 0;
    if (split_key != NULL && j.p < j.end && *j.p == '{') {
        j.p++;
        hs_json_enter(&j);
        if (keep_others) lua_createtable(L, 0, 32); else lua_pushnil(L);
        hs_json_object_members(&j, lua_gettop(L), split_key, split_length, &split_found, keep_others);
        j.depth--;
    } else {
        hs_json_value(&j);
    }
    hs_json_skip_ws(&j);
    if (j.p != j.end) return hs_json_fail(&j, "text after the value");
    if (!split_found) {
        lua_pushnil(L);
        lua_pushnil(L);
        lua_pushnil(L);
    }
    return 4;
}

static inline void hs_lua_push_json_decode(lua_State *L) { lua_pushcfunction(L, hs_lua_json_decode); }

#endif
