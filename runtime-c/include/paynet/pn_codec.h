/*
 * What generated message code uses besides the wire primitives: error propagation, the bit
 * patterns of floating values (proto3 writes -0.0 but not 0.0), and setting bounded strings and
 * bytes from C data.
 */
#ifndef PAYNET_PN_CODEC_H
#define PAYNET_PN_CODEC_H

#include <string.h>

#include "pn_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Returns the status of expr from the enclosing function unless it is PN_OK. */
#define PN_TRY(expr)                      \
  do {                                    \
    pn_status pn_try_status_ = (expr);    \
    if (pn_try_status_ != PN_OK) return pn_try_status_; \
  } while (0)

static inline uint32_t pn_float_bits(float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  return bits;
}

static inline uint64_t pn_double_bits(double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  return bits;
}

/**
 * Copies the NUL-terminated text into a bounded string field (data holds max + 1 bytes);
 * PN_ERR_BOUND when it is longer than max bytes (the field is left unchanged then).
 */
static inline pn_status pn_string_set(char *data, uint32_t *len, size_t max, const char *text) {
  size_t n = strlen(text);
  if (n > max) return PN_ERR_BOUND;
  memcpy(data, text, n);
  data[n] = '\0';
  *len = (uint32_t)n;
  return PN_OK;
}

/** Copies n bytes into a bounded bytes field; PN_ERR_BOUND when n > max. */
static inline pn_status pn_bytes_set(uint8_t *data, uint32_t *len, size_t max, const void *bytes, size_t n) {
  if (n > max) return PN_ERR_BOUND;
  if (n > 0) memcpy(data, bytes, n);
  *len = (uint32_t)n;
  return PN_OK;
}

/** PN_SET_STRING(msg.order_id, "A-1"): sets a string field of a generated message. */
#define PN_SET_STRING(field, text) pn_string_set((field).data, &(field).len, sizeof((field).data) - 1u, (text))
/** PN_SET_BYTES(msg.device_pubkey, key, key_len): sets a bytes field of a generated message. */
#define PN_SET_BYTES(field, bytes, n) pn_bytes_set((field).data, &(field).len, sizeof((field).data), (bytes), (n))

#ifdef __cplusplus
}
#endif

#endif /* PAYNET_PN_CODEC_H */
