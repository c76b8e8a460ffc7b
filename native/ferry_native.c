/*
 * ferry's native kernel: Reed-Solomon "matrix times shards" over GF(2^8) (polynomial 0x11D),
 * the same contract as codeShards() in src/erasure/kernel.ts:
 *
 *   outputs[i] = XOR over j of coefs[i*k + j] * inputs[j]      (all regions the same length)
 *
 * Three implementations, picked once at load from what the CPU has:
 *   - gfni:  AVX2 + GFNI, one GF2P8AFFINEQB per coefficient and 32 bytes
 *            (the affine matrix of "multiply by c" works for any polynomial);
 *   - avx2:  the split-nibble method (two 16-entry tables and PSHUFB per coefficient);
 *   - scalar: a 256-entry table per coefficient, for CPUs without AVX2 and for the tail.
 * Work goes in slices of SLICE bytes so that the inputs of a slice stay in L1/L2 while every
 * output is computed from them, and outputs are processed up to 4 at a time in registers.
 *
 * Built by node-gyp (binding.gyp). If it is missing, ferry uses the plain-JS kernel.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_DIRECT */
#endif
#include <node_api.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#ifdef __linux__
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#define FERRY_X86 1
#include <immintrin.h>
#endif
#include <pthread.h>
#include <openssl/evp.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define MAX_SHARDS 256
#define SLICE 8192

static uint8_t gf_mul_table[256][256];
static uint8_t gf_exp[512];
static uint8_t gf_log[256];

static void gf_init(void) {
  int x = 1;
  for (int i = 0; i < 255; i++) {
    gf_exp[i] = (uint8_t)x;
    gf_log[x] = (uint8_t)i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11D;
  }
  for (int i = 255; i < 512; i++) gf_exp[i] = gf_exp[i - 255];
  for (int a = 0; a < 256; a++)
    for (int b = 0; b < 256; b++)
      gf_mul_table[a][b] = (a == 0 || b == 0) ? 0 : gf_exp[gf_log[a] + gf_log[b]];
}

/* ---- scalar ---- */
static void code_scalar(const uint8_t *coefs, int k, int m, const uint8_t **in, uint8_t **out, size_t from,
                        size_t to) {
  for (int i = 0; i < m; i++) {
    uint8_t *o = out[i];
    int started = 0;
    for (int j = 0; j < k; j++) {
      uint8_t c = coefs[i * k + j];
      if (c == 0) continue;
      const uint8_t *t = gf_mul_table[c];
      const uint8_t *s = in[j];
      if (!started) {
        for (size_t p = from; p < to; p++) o[p] = t[s[p]];
        started = 1;
      } else {
        for (size_t p = from; p < to; p++) o[p] ^= t[s[p]];
      }
    }
    if (!started) memset(o + from, 0, to - from);
  }
}

#ifdef FERRY_X86
/* ---- AVX2 split nibble ---- */
__attribute__((target("avx2"))) static void code_avx2(const uint8_t *coefs, int k, int m, const uint8_t **in,
                                                      uint8_t **out, size_t len) {
  /* 32-byte tables: low nibble products, high nibble products (same 16 bytes in both lanes). */
  uint8_t tabs[4 * k][2][32] __attribute__((aligned(32)));
  const __m256i mask = _mm256_set1_epi8(0x0f);
  size_t vlen = len & ~(size_t)31;
  for (int g = 0; g < m; g += 4) {
    int n = m - g < 4 ? m - g : 4;
    for (int o = 0; o < n; o++)
      for (int j = 0; j < k; j++) {
        uint8_t c = coefs[(g + o) * k + j];
        for (int x = 0; x < 16; x++) {
          tabs[o * k + j][0][x] = tabs[o * k + j][0][x + 16] = gf_mul_table[c][x];
          tabs[o * k + j][1][x] = tabs[o * k + j][1][x + 16] = gf_mul_table[c][x << 4];
        }
      }
    for (size_t base = 0; base < vlen; base += SLICE) {
      size_t end = base + SLICE < vlen ? base + SLICE : vlen;
      for (size_t p = base; p < end; p += 32) {
        __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int j = 0; j < k; j++) {
          __m256i x = _mm256_loadu_si256((const __m256i *)(in[j] + p));
          __m256i lo = _mm256_and_si256(x, mask);
          __m256i hi = _mm256_and_si256(_mm256_srli_epi64(x, 4), mask);
#define STEP(o, acc)                                                                       \
  if (n > o) {                                                                             \
    const __m256i tl = _mm256_loadu_si256((const __m256i *)tabs[o * k + j][0]);             \
    const __m256i th = _mm256_loadu_si256((const __m256i *)tabs[o * k + j][1]);             \
    acc = _mm256_xor_si256(acc, _mm256_xor_si256(_mm256_shuffle_epi8(tl, lo), _mm256_shuffle_epi8(th, hi))); \
  }
          STEP(0, acc0) STEP(1, acc1) STEP(2, acc2) STEP(3, acc3)
#undef STEP
        }
        _mm256_storeu_si256((__m256i *)(out[g] + p), acc0);
        if (n > 1) _mm256_storeu_si256((__m256i *)(out[g + 1] + p), acc1);
        if (n > 2) _mm256_storeu_si256((__m256i *)(out[g + 2] + p), acc2);
        if (n > 3) _mm256_storeu_si256((__m256i *)(out[g + 3] + p), acc3);
      }
    }
  }
  if (vlen < len) code_scalar(coefs, k, m, in, out, vlen, len);
}

/* ---- AVX2 + GFNI ---- */

/* The 8x8 bit matrix of "multiply by c" in the layout GF2P8AFFINEQB wants: byte 7-i holds the
 * row of output bit i, whose bit j is bit i of c * 2^j. */
static uint64_t affine_of(uint8_t c) {
  uint64_t a = 0;
  for (int i = 0; i < 8; i++) {
    uint8_t row = 0;
    for (int j = 0; j < 8; j++)
      if (gf_mul_table[c][1 << j] & (1 << i)) row |= (uint8_t)(1 << j);
    a |= (uint64_t)row << (8 * (7 - i));
  }
  return a;
}

__attribute__((target("avx2,gfni"))) static void code_gfni(const uint8_t *coefs, int k, int m, const uint8_t **in,
                                                           uint8_t **out, size_t len) {
  uint64_t mats[4 * k];
  size_t vlen = len & ~(size_t)31;
  for (int g = 0; g < m; g += 4) {
    int n = m - g < 4 ? m - g : 4;
    for (int o = 0; o < n; o++)
      for (int j = 0; j < k; j++) mats[o * k + j] = affine_of(coefs[(g + o) * k + j]);
    for (size_t base = 0; base < vlen; base += SLICE) {
      size_t end = base + SLICE < vlen ? base + SLICE : vlen;
      for (size_t p = base; p < end; p += 32) {
        __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int j = 0; j < k; j++) {
          __m256i x = _mm256_loadu_si256((const __m256i *)(in[j] + p));
#define STEP(o, acc)                                                                                \
  if (n > o)                                                                                        \
    acc = _mm256_xor_si256(acc, _mm256_gf2p8affine_epi64_epi8(x, _mm256_set1_epi64x((long long)mats[o * k + j]), 0));
          STEP(0, acc0) STEP(1, acc1) STEP(2, acc2) STEP(3, acc3)
#undef STEP
        }
        _mm256_storeu_si256((__m256i *)(out[g] + p), acc0);
        if (n > 1) _mm256_storeu_si256((__m256i *)(out[g + 1] + p), acc1);
        if (n > 2) _mm256_storeu_si256((__m256i *)(out[g + 2] + p), acc2);
        if (n > 3) _mm256_storeu_si256((__m256i *)(out[g + 3] + p), acc3);
      }
    }
  }
  if (vlen < len) code_scalar(coefs, k, m, in, out, vlen, len);
}

#endif /* FERRY_X86 */

typedef enum { KIND_SCALAR, KIND_AVX2, KIND_GFNI } kind_t;
static kind_t chosen = KIND_SCALAR;
static const char *kind_names[] = {"scalar", "avx2", "gfni"};

static void code(kind_t kind, const uint8_t *coefs, int k, int m, const uint8_t **in, uint8_t **out, size_t len) {
#ifdef FERRY_X86
  if (kind == KIND_GFNI) code_gfni(coefs, k, m, in, out, len);
  else if (kind == KIND_AVX2) code_avx2(coefs, k, m, in, out, len);
  else
#endif
    code_scalar(coefs, k, m, in, out, 0, len);
}

/* ---- N-API glue ---- */

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, "E_INTERNAL", msg);
  return NULL;
}

static int bytes_of(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  void *p;
  if (napi_get_typedarray_info(env, v, &type, len, &p, &ab, &off) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (uint8_t *)p;
  return 1;
}

static int shard_list(napi_env env, napi_value arr, uint8_t **ptrs, uint32_t *count, size_t *len) {
  bool is;
  if (napi_is_array(env, arr, &is) != napi_ok || !is) return 0;
  if (napi_get_array_length(env, arr, count) != napi_ok || *count > MAX_SHARDS) return 0;
  for (uint32_t i = 0; i < *count; i++) {
    napi_value v;
    size_t l;
    if (napi_get_element(env, arr, i, &v) != napi_ok || !bytes_of(env, v, &ptrs[i], &l)) return 0;
    if (*len == (size_t)-1) *len = l;
    else if (*len != l) return 0;
  }
  return 1;
}

/* codeShards(coefs, inputs, outputs[, kind]) */
static napi_value js_code_shards(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return throw_error(env, "codeShards needs coefs, inputs, outputs");
  uint8_t *coefs;
  size_t ncoefs;
  if (!bytes_of(env, argv[0], &coefs, &ncoefs)) return throw_error(env, "codeShards: coefs must be a Uint8Array");
  uint8_t *in[MAX_SHARDS], *out[MAX_SHARDS];
  uint32_t k, m;
  size_t len = (size_t)-1;
  if (!shard_list(env, argv[1], in, &k, &len) || !shard_list(env, argv[2], out, &m, &len))
    return throw_error(env, "codeShards: inputs and outputs must be arrays of equal-length Uint8Arrays");
  if (ncoefs < (size_t)k * m) return throw_error(env, "codeShards: too few coefficients");
  if (k == 0 || m == 0 || len == (size_t)-1 || len == 0) {
    for (uint32_t i = 0; i < m && len != (size_t)-1; i++) memset(out[i], 0, len);
    return NULL;
  }
  kind_t kind = chosen;
  if (argc > 3) {
    int32_t want;
    if (napi_get_value_int32(env, argv[3], &want) == napi_ok && want >= 0 && want <= (int32_t)chosen)
      kind = (kind_t)want;
  }
  code(kind, coefs, (int)k, (int)m, (const uint8_t **)in, out, len);
  return NULL;
}


/* ---- FastCDC cut point (the kernel of src/chunk/fastcdc.ts, same contract, see docs/CHUNKING.md) ----
 * The 32-bit gear hash after byte j depends only on the 32 bytes ending at j (each byte is shifted
 * out after 32 steps), so the range to test can be split into LANES segments hashed in lockstep,
 * each warmed up on the 31 bytes before it. That breaks the one-cycle-per-byte dependency chain of
 * the shift-and-add. The answer is still the first cut: a hit in lane l is taken only after every
 * lane before it has been hashed to its end without one. */
#define LANES 4
#define LANE_MIN 4096

static size_t gear_scan(const int32_t *G, const uint8_t *b, size_t from, size_t to, uint32_t h, uint32_t mask) {
  for (size_t j = from; j < to; j++) {
    h = (h << 1) + (uint32_t)G[b[j]];
    if ((h & mask) == 0) return j + 1;
  }
  return 0;
}

static uint32_t gear_warm(const int32_t *G, const uint8_t *b, size_t from, size_t to) {
  uint32_t h = 0;
  for (size_t j = from; j < to; j++) h = (h << 1) + (uint32_t)G[b[j]];
  return h;
}

/* First j+1 in [from, to) where the hash of the 32 bytes ending at j has (h & mask) == 0, or 0.
 * Needs from >= 31 bytes into the buffer's valid range (the caller guarantees from - 31 >= start). */
static size_t gear_find(const int32_t *G, const uint8_t *b, size_t from, size_t to, uint32_t mask) {
  size_t n = to - from;
  if (n < LANES * LANE_MIN) return gear_scan(G, b, from, to, gear_warm(G, b, from - 31, from), mask);
  size_t seg = n / LANES;
  size_t at[LANES];
  uint32_t h[LANES];
  for (int l = 0; l < LANES; l++) {
    at[l] = from + (size_t)l * seg;
    h[l] = gear_warm(G, b, at[l] - 31, at[l]);
  }
  size_t i = 0;
  int hit = 0;
  for (; i < seg; i++) {
    h[0] = (h[0] << 1) + (uint32_t)G[b[at[0] + i]];
    h[1] = (h[1] << 1) + (uint32_t)G[b[at[1] + i]];
    h[2] = (h[2] << 1) + (uint32_t)G[b[at[2] + i]];
    h[3] = (h[3] << 1) + (uint32_t)G[b[at[3] + i]];
    if (((h[0] & mask) == 0) | ((h[1] & mask) == 0) | ((h[2] & mask) == 0) | ((h[3] & mask) == 0)) {
      hit = 1;
      break;
    }
  }
  /* Lanes hashed up to and including step i (or all of their segment when no hit). */
  for (int l = 0; l < LANES; l++) {
    size_t end = l == LANES - 1 ? to : at[l] + seg;
    if (hit) {
      if ((h[l] & mask) == 0) return at[l] + i + 1;
      size_t r = gear_scan(G, b, at[l] + i + 1, end, h[l], mask);
      if (r) return r;
    } else if (l == LANES - 1) {
      size_t r = gear_scan(G, b, at[l] + seg, end, h[l], mask);
      if (r) return r;
    }
  }
  return 0;
}

/* fastcdcCut(buf, start, end, minSize, avgSize, maxSize, maskS, maskL, gear[, from]): as cut() in
 * fastcdc.ts. `from` (optional): no byte before it ends a chunk (an earlier call over the same
 * chunk found none), so testing starts there; a hash depends only on the 32 bytes ending at its
 * byte, so it is the same as if the scan had run from the start. */
static napi_value js_fastcdc_cut(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *b;
  size_t blen;
  int64_t a[10] = {0};
  bool is;
  napi_typedarray_type type;
  size_t glen, goff;
  void *gp;
  napi_value gab;
  int ok = (argc == 9 || argc == 10) && bytes_of(env, argv[0], &b, &blen);
  for (int i = 1; ok && i < 8; i++) ok = napi_get_value_int64(env, argv[i], &a[i]) == napi_ok;
  ok = ok && napi_is_typedarray(env, argv[8], &is) == napi_ok && is &&
       napi_get_typedarray_info(env, argv[8], &type, &glen, &gp, &gab, &goff) == napi_ok &&
       type == napi_int32_array && glen == 256;
  if (ok && argc == 10) ok = napi_get_value_int64(env, argv[9], &a[9]) == napi_ok;
  if (!ok)
    return throw_error(env, "fastcdcCut(buf, start, end, min, avg, max, maskS, maskL, gear Int32Array(256)[, from])");
  int64_t start = a[1], end = a[2], min = a[3], avg = a[4], max = a[5], from = a[9];
  if (start < 0 || end < start || (uint64_t)end > blen || min < 32 || avg <= min || max <= avg || from < 0)
    return throw_error(env, "fastcdcCut: bad range or sizes");
  uint32_t maskS = (uint32_t)a[6], maskL = (uint32_t)a[7];
  const int32_t *G = (const int32_t *)gp;
  int64_t n = end - start, r;
  if (n <= min) r = end;
  else {
    size_t limit = (size_t)(n < max ? end : start + max);
    size_t t0 = (size_t)(start + min - 1); /* first byte whose hash is tested */
    if ((size_t)from > t0) t0 = (size_t)from;
    size_t e1 = (size_t)(start + avg - 1); /* bytes before it are tested with maskS */
    if (e1 > limit) e1 = limit;
    size_t c = 0;
    if (t0 < e1) c = gear_find(G, b, t0, e1, maskS);
    if (!c && t0 < limit && e1 < limit) c = gear_find(G, b, t0 > e1 ? t0 : e1, limit, maskL);
    r = c ? (int64_t)c : (int64_t)limit;
  }
  napi_value out;
  napi_create_int64(env, r, &out);
  return out;
}

/* ---- AES-256-GCM through the OpenSSL that Node itself links and exports ----
 * node:crypto makes a new cipher (and key schedule) per chunk and hands out a fresh buffer per
 * update; for a 34 KB file that overhead was 3/4 of the time. Here each thread keeps one context
 * per direction with the key schedule, and only the nonce changes per call; output goes straight
 * into the caller's buffer. Same algorithm and bytes as node:crypto (tests check both ways). */

typedef struct {
  EVP_CIPHER_CTX *ctx;
  uint8_t key[32];
  int has_key;
} gcm_ctx;

static __thread gcm_ctx enc_ctx, dec_ctx;

static EVP_CIPHER_CTX *gcm_for(gcm_ctx *g, const uint8_t *key, int enc) {
  if (!g->ctx) {
    g->ctx = EVP_CIPHER_CTX_new();
    if (!g->ctx) return NULL;
    if (EVP_CipherInit_ex(g->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1) return NULL;
    if (EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1) return NULL;
  }
  if (!g->has_key || memcmp(g->key, key, 32) != 0) {
    if (EVP_CipherInit_ex(g->ctx, NULL, NULL, key, NULL, enc) != 1) return NULL;
    memcpy(g->key, key, 32);
    g->has_key = 1;
  }
  return g->ctx;
}

/* Feeds at most INT_MAX bytes per call (OpenSSL takes int lengths). */
static int gcm_update(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *in, size_t len) {
  size_t done = 0;
  while (done < len) {
    size_t n = len - done > (1u << 30) ? (1u << 30) : len - done;
    int outl = 0;
    if (EVP_CipherUpdate(c, out ? out + done : NULL, &outl, in + done, (int)n) != 1) return 0;
    done += n;
  }
  return 1;
}

/* gcmSeal(key32, nonce12, aad, plaintext, out): out = ciphertext || tag (plaintext.length + 16). */
static napi_value js_gcm_seal(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *key, *nonce, *aad, *pt, *out;
  size_t klen, nlen, alen, plen, olen;
  if (argc < 5 || !bytes_of(env, argv[0], &key, &klen) || !bytes_of(env, argv[1], &nonce, &nlen) ||
      !bytes_of(env, argv[2], &aad, &alen) || !bytes_of(env, argv[3], &pt, &plen) ||
      !bytes_of(env, argv[4], &out, &olen) || klen != 32 || nlen != 12 || olen < plen + 16)
    return throw_error(env, "gcmSeal(key32, nonce12, aad, plaintext, out[plaintext+16])");
  EVP_CIPHER_CTX *c = gcm_for(&enc_ctx, key, 1);
  int outl = 0;
  if (!c || EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 1) != 1 || !gcm_update(c, NULL, aad, alen) ||
      !gcm_update(c, out, pt, plen) || EVP_CipherFinal_ex(c, out + plen, &outl) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + plen) != 1)
    return throw_error(env, "AES-256-GCM seal failed in OpenSSL");
  return NULL;
}

/* gcmOpen(key32, nonce12, aad, ciphertext, tag16, out): true when authentic (out = plaintext). */
static napi_value js_gcm_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *key, *nonce, *aad, *ct, *tag, *out;
  size_t klen, nlen, alen, clen, tlen, olen;
  if (argc < 6 || !bytes_of(env, argv[0], &key, &klen) || !bytes_of(env, argv[1], &nonce, &nlen) ||
      !bytes_of(env, argv[2], &aad, &alen) || !bytes_of(env, argv[3], &ct, &clen) ||
      !bytes_of(env, argv[4], &tag, &tlen) || !bytes_of(env, argv[5], &out, &olen) || klen != 32 ||
      nlen != 12 || tlen != 16 || olen < clen)
    return throw_error(env, "gcmOpen(key32, nonce12, aad, ciphertext, tag16, out[ciphertext])");
  EVP_CIPHER_CTX *c = gcm_for(&dec_ctx, key, 0);
  int outl = 0;
  if (!c || EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 0) != 1 || !gcm_update(c, NULL, aad, alen) ||
      !gcm_update(c, out, ct, clen) || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
    return throw_error(env, "AES-256-GCM open failed in OpenSSL");
  int ok = EVP_CipherFinal_ex(c, out + clen, &outl) == 1;
  if (!ok && clen) memset(out, 0, clen); /* never leave unauthenticated plaintext behind */
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

/* gcmOpenv(key32, nonce12, aad, ciphertextPieces[], tag16, out): as gcmOpen, for a ciphertext
 * given as consecutive pieces (a chunk that spans blocks), without gathering it first. */
static napi_value js_gcm_openv(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *key, *nonce, *aad, *tag, *out;
  size_t klen, nlen, alen, tlen, olen;
  bool is_arr = false;
  uint32_t count = 0;
  if (argc < 6 || !bytes_of(env, argv[0], &key, &klen) || !bytes_of(env, argv[1], &nonce, &nlen) ||
      !bytes_of(env, argv[2], &aad, &alen) || napi_is_array(env, argv[3], &is_arr) != napi_ok || !is_arr ||
      napi_get_array_length(env, argv[3], &count) != napi_ok || !bytes_of(env, argv[4], &tag, &tlen) ||
      !bytes_of(env, argv[5], &out, &olen) || klen != 32 || nlen != 12 || tlen != 16)
    return throw_error(env, "gcmOpenv(key32, nonce12, aad, pieces[], tag16, out)");
  size_t total = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value v;
    uint8_t *p;
    size_t l;
    if (napi_get_element(env, argv[3], i, &v) != napi_ok || !bytes_of(env, v, &p, &l))
      return throw_error(env, "gcmOpenv: pieces must be Uint8Arrays");
    total += l;
  }
  if (olen < total) return throw_error(env, "gcmOpenv: out is shorter than the ciphertext");
  EVP_CIPHER_CTX *c = gcm_for(&dec_ctx, key, 0);
  if (!c || EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 0) != 1 || !gcm_update(c, NULL, aad, alen))
    return throw_error(env, "AES-256-GCM open failed in OpenSSL");
  size_t pos = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value v;
    uint8_t *p = NULL;
    size_t l = 0;
    if (napi_get_element(env, argv[3], i, &v) != napi_ok || !bytes_of(env, v, &p, &l))
      return throw_error(env, "gcmOpenv: pieces must be Uint8Arrays");
    if (!gcm_update(c, out + pos, p, l)) return throw_error(env, "AES-256-GCM open failed in OpenSSL");
    pos += l;
  }
  int outl = 0;
  if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
    return throw_error(env, "AES-256-GCM open failed in OpenSSL");
  int ok = EVP_CipherFinal_ex(c, out + pos, &outl) == 1;
  if (!ok && total) memset(out, 0, total);
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

/* alignGap(bytes, align): how many bytes into `bytes` the first address that is a multiple of
 * `align` (a power of two) lies, so JS can carve page-aligned views for O_DIRECT writes. */
static napi_value js_align_gap(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *p;
  size_t len;
  uint32_t align;
  if (argc < 2 || !bytes_of(env, argv[0], &p, &len) || napi_get_value_uint32(env, argv[1], &align) != napi_ok ||
      align == 0 || (align & (align - 1)) != 0)
    return throw_error(env, "alignGap(bytes, align: a power of two)");
  napi_value r;
  napi_create_uint32(env, (uint32_t)((align - ((uintptr_t)p & (align - 1))) & (align - 1)), &r);
  return r;
}

/* setDirect(fd, on): turns O_DIRECT on or off for an open file (fcntl F_SETFL), so the last,
 * partial unit of a file written with O_DIRECT can go through the page cache without padding
 * and a truncate (which on ext4 reads the last block back from the drive). Returns whether it
 * took effect; false where the platform has no O_DIRECT. */
static napi_value js_set_direct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  bool on;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_bool(env, argv[1], &on) != napi_ok)
    return throw_error(env, "setDirect(fd, on: boolean)");
  bool ok = false;
#ifdef O_DIRECT
  int fl = fcntl(fd, F_GETFL);
  if (fl != -1) ok = fcntl(fd, F_SETFL, on ? (fl | O_DIRECT) : (fl & ~O_DIRECT)) == 0;
#endif
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

/* The (fd, pos, len) arguments of cachedBytes and dropCache: at least `need` of them given, pos
 * and len 0 when left out, neither negative. */
static bool fd_range_args(napi_env env, napi_callback_info info, size_t need, int32_t *fd, int64_t *pos,
                          int64_t *len) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  *pos = 0;
  *len = 0;
  return argc >= need && argc >= 1 && napi_get_value_int32(env, argv[0], fd) == napi_ok &&
         (argc < 2 || napi_get_value_int64(env, argv[1], pos) == napi_ok) &&
         (argc < 3 || napi_get_value_int64(env, argv[2], len) == napi_ok) && *pos >= 0 && *len >= 0;
}

/* cachedBytes(fd, pos, len): how many bytes from file offset pos (a multiple of the page size),
 * up to len, the page cache holds without a gap, found with mmap + mincore: nothing is read and no
 * read-ahead starts. -1 where it cannot tell: no mincore, the mapping failed, or a file this
 * process neither owns nor may write, for which Linux (since 5.0) answers mincore as if every
 * page were cached. Pack reads a source that is already in memory through the page cache and one
 * that is not (or cannot be told) with O_DIRECT. */
static napi_value js_cached_bytes(napi_env env, napi_callback_info info) {
  int32_t fd;
  int64_t pos, len;
  if (!fd_range_args(env, info, 3, &fd, &pos, &len) || len > (1 << 30))
    return throw_error(env, "cachedBytes(fd, pos >= 0, len in [0, 1 GiB])");
  double r = -1;
#if defined(__linux__)
  long page = sysconf(_SC_PAGESIZE);
  struct stat st;
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  /* The kernel's rule (can_do_mincore): the file's owner, CAP_FOWNER (root here), or a user who
   * may write the file (whatever the descriptor's mode). */
  int trusted = fstat(fd, &st) == 0 && (st.st_uid == geteuid() || geteuid() == 0 ||
                                        faccessat(AT_FDCWD, link, W_OK, AT_EACCESS) == 0);
  if (trusted && page > 0 && pos % page == 0) {
    if (len == 0) r = 0;
    else {
      size_t pages = ((size_t)len + (size_t)page - 1) / (size_t)page;
      void *m = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, (off_t)pos);
      if (m != MAP_FAILED) {
        unsigned char stackvec[2048];
        unsigned char *vec = pages <= sizeof stackvec ? stackvec : malloc(pages);
        if (vec && mincore(m, (size_t)len, vec) == 0) {
          size_t i = 0;
          while (i < pages && (vec[i] & 1)) i++;
          double got = (double)i * (double)page;
          r = got < (double)len ? got : (double)len;
        }
        if (vec != stackvec) free(vec);
        munmap(m, (size_t)len);
      }
    }
  }
#endif
  napi_value out;
  napi_create_double(env, r, &out);
  return out;
}

/* dropCache(fd[, pos, len]): asks the kernel to drop the file's clean pages (from pos, len bytes;
 * 0: to the end) from the page cache (posix_fadvise POSIX_FADV_DONTNEED); dirty pages stay until
 * written back (fdatasync first). Returns whether the call succeeded. Used by tests and the
 * benchmark to make a file cold, so that reads have to go to the drive. */
static napi_value js_drop_cache(napi_env env, napi_callback_info info) {
  int32_t fd;
  int64_t pos, len;
  if (!fd_range_args(env, info, 1, &fd, &pos, &len))
    return throw_error(env, "dropCache(fd, pos >= 0 = 0, len >= 0 = 0)");
  bool ok = false;
#if defined(POSIX_FADV_DONTNEED)
  ok = posix_fadvise(fd, (off_t)pos, (off_t)len, POSIX_FADV_DONTNEED) == 0;
#endif
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

/* adviseRandom(fd): no read-ahead on this descriptor (posix_fadvise POSIX_FADV_RANDOM). Pack reads
 * a big file through the page cache only while the page cache holds it, and with O_DIRECT from the
 * first piece it does not; read-ahead started by its page-cache reads would fetch the cold rest
 * into the page cache behind its back, and then all of it went through the page cache (one pack
 * in ten of a file cached in part, here). Returns whether the call succeeded. */
static napi_value js_advise_random(napi_env env, napi_callback_info info) {
  int32_t fd;
  int64_t pos, len;
  if (!fd_range_args(env, info, 1, &fd, &pos, &len)) return throw_error(env, "adviseRandom(fd)");
  bool ok = false;
#if defined(POSIX_FADV_RANDOM)
  ok = posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM) == 0;
#endif
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

/* tuneMalloc(): keep multi-MiB buffers in the heap instead of mmap/munmap per allocation, and
 * stop trimming the heap after every free. Node allocates a fresh buffer per crypto update and
 * per read; with glibc's defaults each of those faults its pages in again (measured: AES-GCM in
 * 64 KiB slices ran at 0.2 GB/s with 40% system time, 1.8 GB/s tuned). Same effect as
 * GLIBC_TUNABLES=glibc.malloc.mmap_threshold=...:glibc.malloc.trim_threshold=..., but set at run
 * time. Returns false where the C library is not glibc. */
static napi_value js_tune_malloc(napi_env env, napi_callback_info info) {
  bool ok = false;
#ifdef __GLIBC__
  /* One arena for all threads: ferry's allocations are few and large, so the lock is cheap,
   * and per-thread arenas each kept their own freed memory (measured: peak RSS of pack grew 11%
   * from a 1 to a 3 GiB corpus with per-thread arenas, 9% with one, and ran ~10% faster). */
  ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1 &&
       mallopt(M_ARENA_MAX, 1) == 1;
#endif
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_once(void) {
  gf_init();
#ifdef FERRY_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) chosen = KIND_AVX2;
  if (chosen == KIND_AVX2 && __builtin_cpu_supports("gfni")) chosen = KIND_GFNI;
#endif
}

/* Loaded once per thread (main and each worker): tables and the CPU check happen once. */
static napi_value init(napi_env env, napi_value exports) {
  pthread_once(&once, init_once);
  napi_value fn, name, kinds;
  napi_create_function(env, "codeShards", NAPI_AUTO_LENGTH, js_code_shards, NULL, &fn);
  napi_set_named_property(env, exports, "codeShards", fn);
  napi_create_function(env, "gcmSeal", NAPI_AUTO_LENGTH, js_gcm_seal, NULL, &fn);
  napi_set_named_property(env, exports, "gcmSeal", fn);
  napi_create_function(env, "gcmOpen", NAPI_AUTO_LENGTH, js_gcm_open, NULL, &fn);
  napi_set_named_property(env, exports, "gcmOpen", fn);
  napi_create_function(env, "gcmOpenv", NAPI_AUTO_LENGTH, js_gcm_openv, NULL, &fn);
  napi_set_named_property(env, exports, "gcmOpenv", fn);
  napi_create_function(env, "fastcdcCut", NAPI_AUTO_LENGTH, js_fastcdc_cut, NULL, &fn);
  napi_set_named_property(env, exports, "fastcdcCut", fn);
  napi_create_function(env, "alignGap", NAPI_AUTO_LENGTH, js_align_gap, NULL, &fn);
  napi_set_named_property(env, exports, "alignGap", fn);
  napi_create_function(env, "setDirect", NAPI_AUTO_LENGTH, js_set_direct, NULL, &fn);
  napi_set_named_property(env, exports, "setDirect", fn);
  napi_create_function(env, "cachedBytes", NAPI_AUTO_LENGTH, js_cached_bytes, NULL, &fn);
  napi_set_named_property(env, exports, "cachedBytes", fn);
  napi_create_function(env, "dropCache", NAPI_AUTO_LENGTH, js_drop_cache, NULL, &fn);
  napi_set_named_property(env, exports, "dropCache", fn);
  napi_create_function(env, "adviseRandom", NAPI_AUTO_LENGTH, js_advise_random, NULL, &fn);
  napi_set_named_property(env, exports, "adviseRandom", fn);
  napi_create_function(env, "tuneMalloc", NAPI_AUTO_LENGTH, js_tune_malloc, NULL, &fn);
  napi_set_named_property(env, exports, "tuneMalloc", fn);
  napi_create_string_utf8(env, kind_names[chosen], NAPI_AUTO_LENGTH, &name);
  napi_set_named_property(env, exports, "kernel", name);
  napi_create_array_with_length(env, (size_t)chosen + 1, &kinds);
  for (int i = 0; i <= (int)chosen; i++) {
    napi_value s;
    napi_create_string_utf8(env, kind_names[i], NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, kinds, (uint32_t)i, s);
  }
  napi_set_named_property(env, exports, "kernels", kinds);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
