/* Protobuf wire primitives (see pn_wire.h). */
#include "paynet/pn_wire.h"

#include <string.h>

#define PN_MAX_FIELD_NUMBER 536870911u /* 2^29 - 1 */
#define PN_MAX_GROUP_DEPTH 16u

void pn_writer_init(pn_writer *w, uint8_t *buf, size_t cap) {
  w->buf = buf;
  w->cap = cap;
  w->len = 0;
}

void pn_reader_init(pn_reader *r, const uint8_t *p, size_t len) {
  r->p = p;
  r->len = len;
  r->pos = 0;
}

size_t pn_varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80u) {
    v >>= 7;
    n++;
  }
  return n;
}

size_t pn_tag_size(uint32_t field_number) {
  return pn_varint_size((uint64_t)field_number << 3);
}

size_t pn_len_size(size_t n) {
  return pn_varint_size((uint64_t)n) + n;
}

pn_status pn_write_varint(pn_writer *w, uint64_t v) {
  if (w->cap - w->len < pn_varint_size(v)) return PN_ERR_OVERFLOW;
  while (v >= 0x80u) {
    w->buf[w->len++] = (uint8_t)(v | 0x80u);
    v >>= 7;
  }
  w->buf[w->len++] = (uint8_t)v;
  return PN_OK;
}

pn_status pn_write_tag(pn_writer *w, uint32_t field_number, uint32_t wire_type) {
  return pn_write_varint(w, ((uint64_t)field_number << 3) | wire_type);
}

pn_status pn_write_fixed32(pn_writer *w, uint32_t v) {
  if (w->cap - w->len < 4) return PN_ERR_OVERFLOW;
  for (unsigned i = 0; i < 4; i++) w->buf[w->len++] = (uint8_t)(v >> (8 * i));
  return PN_OK;
}

pn_status pn_write_fixed64(pn_writer *w, uint64_t v) {
  if (w->cap - w->len < 8) return PN_ERR_OVERFLOW;
  for (unsigned i = 0; i < 8; i++) w->buf[w->len++] = (uint8_t)(v >> (8 * i));
  return PN_OK;
}

pn_status pn_write_float(pn_writer *w, float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  return pn_write_fixed32(w, bits);
}

pn_status pn_write_double(pn_writer *w, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  return pn_write_fixed64(w, bits);
}

pn_status pn_write_raw(pn_writer *w, const uint8_t *data, size_t n) {
  if (w->cap - w->len < n) return PN_ERR_OVERFLOW;
  if (n > 0) memcpy(w->buf + w->len, data, n);
  w->len += n;
  return PN_OK;
}

pn_status pn_write_len_bytes(pn_writer *w, const uint8_t *data, size_t n) {
  if (w->cap - w->len < pn_len_size(n)) return PN_ERR_OVERFLOW;
  (void)pn_write_varint(w, (uint64_t)n);
  return pn_write_raw(w, data, n);
}

pn_status pn_read_varint(pn_reader *r, uint64_t *v) {
  uint64_t value = 0;
  for (unsigned i = 0; i < 10; i++) {
    if (r->pos >= r->len) return PN_ERR_TRUNCATED;
    uint8_t byte = r->p[r->pos++];
    if (i == 9 && byte > 1) return PN_ERR_MALFORMED; /* more than 64 bits */
    value |= (uint64_t)(byte & 0x7fu) << (7 * i);
    if (byte < 0x80u) {
      *v = value;
      return PN_OK;
    }
  }
  return PN_ERR_MALFORMED;
}

pn_status pn_read_tag(pn_reader *r, uint32_t *field_number, uint32_t *wire_type) {
  uint64_t key;
  pn_status status = pn_read_varint(r, &key);
  if (status != PN_OK) return status;
  uint64_t number = key >> 3;
  uint32_t type = (uint32_t)(key & 7u);
  if (number == 0 || number > PN_MAX_FIELD_NUMBER || type > PN_WIRE_FIXED32) return PN_ERR_MALFORMED;
  *field_number = (uint32_t)number;
  *wire_type = type;
  return PN_OK;
}

pn_status pn_read_fixed32(pn_reader *r, uint32_t *v) {
  if (r->len - r->pos < 4) return PN_ERR_TRUNCATED;
  uint32_t value = 0;
  for (unsigned i = 0; i < 4; i++) value |= (uint32_t)r->p[r->pos + i] << (8 * i);
  r->pos += 4;
  *v = value;
  return PN_OK;
}

pn_status pn_read_fixed64(pn_reader *r, uint64_t *v) {
  if (r->len - r->pos < 8) return PN_ERR_TRUNCATED;
  uint64_t value = 0;
  for (unsigned i = 0; i < 8; i++) value |= (uint64_t)r->p[r->pos + i] << (8 * i);
  r->pos += 8;
  *v = value;
  return PN_OK;
}

pn_status pn_read_float(pn_reader *r, float *v) {
  uint32_t bits;
  pn_status status = pn_read_fixed32(r, &bits);
  if (status == PN_OK) memcpy(v, &bits, sizeof bits);
  return status;
}

pn_status pn_read_double(pn_reader *r, double *v) {
  uint64_t bits;
  pn_status status = pn_read_fixed64(r, &bits);
  if (status == PN_OK) memcpy(v, &bits, sizeof bits);
  return status;
}

pn_status pn_read_len(pn_reader *r, size_t *n) {
  uint64_t length;
  pn_status status = pn_read_varint(r, &length);
  if (status != PN_OK) return status;
  if (length > (uint64_t)(r->len - r->pos)) return PN_ERR_TRUNCATED;
  *n = (size_t)length;
  return PN_OK;
}

static pn_status skip_value(pn_reader *r, uint32_t wire_type) {
  uint64_t ignored;
  size_t n;
  pn_status status;
  switch (wire_type) {
    case PN_WIRE_VARINT:
      return pn_read_varint(r, &ignored);
    case PN_WIRE_FIXED64:
      if (r->len - r->pos < 8) return PN_ERR_TRUNCATED;
      r->pos += 8;
      return PN_OK;
    case PN_WIRE_FIXED32:
      if (r->len - r->pos < 4) return PN_ERR_TRUNCATED;
      r->pos += 4;
      return PN_OK;
    case PN_WIRE_LEN:
      status = pn_read_len(r, &n);
      if (status == PN_OK) r->pos += n;
      return status;
    default:
      return PN_ERR_MALFORMED;
  }
}

pn_status pn_skip(pn_reader *r, uint32_t wire_type, uint32_t field_number) {
  if (wire_type == PN_WIRE_END_GROUP) return PN_ERR_MALFORMED;
  if (wire_type != PN_WIRE_START_GROUP) return skip_value(r, wire_type);
  /* A group ends at the END_GROUP tag of its own number; nested groups are tracked by number. */
  uint32_t open[PN_MAX_GROUP_DEPTH];
  unsigned depth = 0;
  open[depth++] = field_number;
  while (depth > 0) {
    uint32_t number, type;
    pn_status status = pn_read_tag(r, &number, &type);
    if (status != PN_OK) return status;
    if (type == PN_WIRE_START_GROUP) {
      if (depth == PN_MAX_GROUP_DEPTH) return PN_ERR_MALFORMED;
      open[depth++] = number;
    } else if (type == PN_WIRE_END_GROUP) {
      if (open[depth - 1] != number) return PN_ERR_MALFORMED;
      depth--;
    } else {
      status = skip_value(r, type);
      if (status != PN_OK) return status;
    }
  }
  return PN_OK;
}

const char *pn_status_name(pn_status status) {
  switch (status) {
    case PN_OK: return "OK";
    case PN_AGAIN: return "AGAIN";
    case PN_ERR_OVERFLOW: return "OVERFLOW";
    case PN_ERR_TRUNCATED: return "TRUNCATED";
    case PN_ERR_MALFORMED: return "MALFORMED";
    case PN_ERR_BOUND: return "BOUND_EXCEEDED";
    case PN_ERR_MISSING_REQUIRED: return "MISSING_REQUIRED";
    case PN_ERR_FRAME_TOO_LARGE: return "FRAME_TOO_LARGE";
    case PN_ERR_PROTOCOL: return "PROTOCOL_ERROR";
    case PN_ERR_IO: return "IO_ERROR";
    case PN_ERR_TLS: return "TLS_ERROR";
    case PN_ERR_CLOSED: return "CONNECTION_CLOSED";
    case PN_ERR_CONNECT_TIMEOUT: return "CONNECT_TIMEOUT";
    case PN_ERR_LOGIN_TIMEOUT: return "LOGIN_TIMEOUT";
    case PN_ERR_LOGIN_REFUSED: return "LOGIN_REFUSED";
    case PN_ERR_HEARTBEAT_TIMEOUT: return "HEARTBEAT_TIMEOUT";
    case PN_ERR_UNKNOWN_TYPE: return "UNKNOWN_TYPE";
    case PN_ERR_QUEUE_FULL: return "QUEUE_FULL";
    case PN_ERR_NOT_CONNECTED: return "NOT_CONNECTED";
    case PN_ERR_STORAGE: return "STORAGE_ERROR";
    case PN_ERR_RECORD_FULL: return "RECORD_FULL";
    case PN_ERR_INVALID: return "INVALID_ARGUMENT";
    case PN_ERR_STOPPED: return "STOPPED";
  }
  return "UNKNOWN_STATUS";
}
