/* Frame header writing and the incremental frame reader (see pn_frame.h). */
#include "paynet/pn_frame.h"

#include <string.h>

void pn_frame_header(uint8_t out[PN_FRAME_HEADER_SIZE], uint8_t type, uint32_t payload_len) {
  uint32_t len = payload_len + 1u;
  out[0] = (uint8_t)(len >> 24);
  out[1] = (uint8_t)(len >> 16);
  out[2] = (uint8_t)(len >> 8);
  out[3] = (uint8_t)len;
  out[4] = type;
}

void pn_frame_reader_init(pn_frame_reader *fr, uint8_t *buf, size_t cap) {
  fr->buf = buf;
  fr->cap = cap;
  pn_frame_reader_reset(fr);
}

void pn_frame_reader_reset(pn_frame_reader *fr) {
  fr->header_have = 0;
  fr->payload_len = 0;
  fr->payload_have = 0;
  fr->failure = PN_OK;
}

static bool frame_complete(const pn_frame_reader *fr) {
  return fr->header_have == PN_FRAME_HEADER_SIZE && fr->payload_have == fr->payload_len;
}

void pn_frame_reader_space(pn_frame_reader *fr, uint8_t **dst, size_t *max) {
  if (frame_complete(fr)) {
    /* The previous frame was handed out: start the next one. */
    fr->header_have = 0;
    fr->payload_have = 0;
    fr->payload_len = 0;
  }
  if (fr->header_have < PN_FRAME_HEADER_SIZE) {
    *dst = fr->header + fr->header_have;
    *max = PN_FRAME_HEADER_SIZE - fr->header_have;
  } else {
    *dst = fr->buf + fr->payload_have;
    *max = fr->payload_len - fr->payload_have;
  }
}

pn_status pn_frame_reader_commit(pn_frame_reader *fr, size_t n, bool *ready) {
  *ready = false;
  if (fr->failure != PN_OK) return fr->failure;
  if (fr->header_have < PN_FRAME_HEADER_SIZE) {
    fr->header_have += n;
    if (fr->header_have >= 4 && fr->header_have - n < 4) {
      /* Len is complete: judge it before anything else is buffered. */
      uint32_t len = ((uint32_t)fr->header[0] << 24) | ((uint32_t)fr->header[1] << 16) |
                     ((uint32_t)fr->header[2] << 8) | (uint32_t)fr->header[3];
      if (len == 0) return fr->failure = PN_ERR_PROTOCOL;
      if ((uint64_t)len - 1u > (uint64_t)fr->cap) return fr->failure = PN_ERR_FRAME_TOO_LARGE;
      fr->payload_len = (size_t)(len - 1u);
    }
  } else {
    fr->payload_have += n;
  }
  *ready = frame_complete(fr);
  return PN_OK;
}

pn_frame pn_frame_reader_frame(const pn_frame_reader *fr) {
  pn_frame frame = {fr->header[4], fr->buf, fr->payload_len};
  return frame;
}

pn_status pn_frame_reader_feed(pn_frame_reader *fr, const uint8_t *data, size_t len, size_t *consumed,
                               bool *ready) {
  *consumed = 0;
  *ready = false;
  while (*consumed < len) {
    uint8_t *dst;
    size_t max;
    pn_frame_reader_space(fr, &dst, &max);
    size_t n = len - *consumed < max ? len - *consumed : max;
    memcpy(dst, data + *consumed, n);
    *consumed += n;
    pn_status status = pn_frame_reader_commit(fr, n, ready);
    if (status != PN_OK || *ready) return status;
  }
  return PN_OK;
}
