/*
 * Protobuf wire primitives: what generated codecs are built on. A pn_writer appends to a
 * caller-owned buffer and fails with PN_ERR_OVERFLOW instead of writing past its end; a pn_reader
 * reads a caller-owned byte range and fails with PN_ERR_TRUNCATED / PN_ERR_MALFORMED instead of
 * reading past it. Nothing here allocates.
 */
#ifndef PAYNET_PN_WIRE_H
#define PAYNET_PN_WIRE_H

#include "pn.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Protobuf wire types. */
enum {
  PN_WIRE_VARINT = 0,
  PN_WIRE_FIXED64 = 1,
  PN_WIRE_LEN = 2,
  PN_WIRE_START_GROUP = 3,
  PN_WIRE_END_GROUP = 4,
  PN_WIRE_FIXED32 = 5
};

/** Appends to buf[0, cap); len bytes are written so far. */
typedef struct pn_writer {
  uint8_t *buf;
  size_t cap;
  size_t len;
} pn_writer;

/** Reads p[pos, len). */
typedef struct pn_reader {
  const uint8_t *p;
  size_t len;
  size_t pos;
} pn_reader;

void pn_writer_init(pn_writer *w, uint8_t *buf, size_t cap);
void pn_reader_init(pn_reader *r, const uint8_t *p, size_t len);

/** Bytes a varint of v takes (1..10). */
size_t pn_varint_size(uint64_t v);
/** Bytes the tag of field_number takes. */
size_t pn_tag_size(uint32_t field_number);
/** Bytes a length-delimited value of n bytes takes, its length prefix included. */
size_t pn_len_size(size_t n);

static inline uint32_t pn_zigzag32(int32_t v) {
  return ((uint32_t)v << 1) ^ (uint32_t)(-(int32_t)((uint32_t)v >> 31));
}
static inline uint64_t pn_zigzag64(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(-(int64_t)((uint64_t)v >> 63));
}
static inline int32_t pn_unzigzag32(uint32_t v) {
  return (int32_t)((v >> 1) ^ (uint32_t)(-(int32_t)(v & 1u)));
}
static inline int64_t pn_unzigzag64(uint64_t v) {
  return (int64_t)((v >> 1) ^ (uint64_t)(-(int64_t)(v & 1u)));
}
/** An int32/enum value as protobuf writes it: negative values sign-extended to 64 bits. */
static inline uint64_t pn_int32_varint(int32_t v) {
  return (uint64_t)(int64_t)v;
}

pn_status pn_write_varint(pn_writer *w, uint64_t v);
pn_status pn_write_tag(pn_writer *w, uint32_t field_number, uint32_t wire_type);
pn_status pn_write_fixed32(pn_writer *w, uint32_t v);
pn_status pn_write_fixed64(pn_writer *w, uint64_t v);
pn_status pn_write_float(pn_writer *w, float v);
pn_status pn_write_double(pn_writer *w, double v);
/** Length prefix then the bytes (a string or bytes value). */
pn_status pn_write_len_bytes(pn_writer *w, const uint8_t *data, size_t n);
/** The bytes as they are. */
pn_status pn_write_raw(pn_writer *w, const uint8_t *data, size_t n);

pn_status pn_read_varint(pn_reader *r, uint64_t *v);
/** A tag: field number 1..2^29-1 and wire type 0..5 (others are PN_ERR_MALFORMED). */
pn_status pn_read_tag(pn_reader *r, uint32_t *field_number, uint32_t *wire_type);
pn_status pn_read_fixed32(pn_reader *r, uint32_t *v);
pn_status pn_read_fixed64(pn_reader *r, uint64_t *v);
pn_status pn_read_float(pn_reader *r, float *v);
pn_status pn_read_double(pn_reader *r, double *v);
/**
 * The length prefix of a length-delimited value; PN_ERR_TRUNCATED when fewer bytes than that
 * remain. The value itself starts at r->pos.
 */
pn_status pn_read_len(pn_reader *r, size_t *n);
/** Skips the value of an unknown field of wire_type (groups included, nested at most 16 deep). */
pn_status pn_skip(pn_reader *r, uint32_t wire_type, uint32_t field_number);

#ifdef __cplusplus
}
#endif

#endif /* PAYNET_PN_WIRE_H */
