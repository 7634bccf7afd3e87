/*
 * The paynet frame: Len (4 bytes, uint32 big-endian, = bytes after Len) | Type (1 byte) | payload.
 *
 * pn_frame_reader is an incremental reader with the buffer owned by the caller: bytes go straight
 * from the transport into it (pn_frame_reader_space / pn_frame_reader_commit, no copy) or are fed
 * from any buffer (pn_frame_reader_feed). Len is checked as soon as its 4 bytes are in, before a
 * single payload byte is buffered: Len 0 is PN_ERR_PROTOCOL, a payload larger than the buffer is
 * PN_ERR_FRAME_TOO_LARGE. After an error the reader stays failed until pn_frame_reader_reset.
 */
#ifndef PAYNET_PN_FRAME_H
#define PAYNET_PN_FRAME_H

#include "pn.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Len (4) + Type (1). */
#define PN_FRAME_HEADER_SIZE 5u

/** Writes the header of a frame of `type` with `payload_len` payload bytes into out[0..4]. */
void pn_frame_header(uint8_t out[PN_FRAME_HEADER_SIZE], uint8_t type, uint32_t payload_len);

typedef struct pn_frame_reader {
  uint8_t *buf;
  size_t cap;
  uint8_t header[PN_FRAME_HEADER_SIZE];
  size_t header_have;
  size_t payload_len;
  size_t payload_have;
  pn_status failure;
} pn_frame_reader;

/** A complete frame; payload points into the reader's buffer until the next read. */
typedef struct pn_frame {
  uint8_t type;
  const uint8_t *payload;
  size_t len;
} pn_frame;

/** Reads frames with payloads of at most `cap` bytes into buf. */
void pn_frame_reader_init(pn_frame_reader *fr, uint8_t *buf, size_t cap);
/** Forgets any partial frame and a failure (a new connection). */
void pn_frame_reader_reset(pn_frame_reader *fr);
/**
 * Where the next received bytes go and how many the current frame still needs (never 0). Receive
 * at most *max bytes into *dst, then call pn_frame_reader_commit.
 */
void pn_frame_reader_space(pn_frame_reader *fr, uint8_t **dst, size_t *max);
/**
 * Takes n bytes written to the space. PN_OK with *ready set when a frame is complete (read it with
 * pn_frame_reader_frame before the next commit); PN_ERR_PROTOCOL or PN_ERR_FRAME_TOO_LARGE when
 * the header is refused.
 */
pn_status pn_frame_reader_commit(pn_frame_reader *fr, size_t n, bool *ready);
/** The complete frame after a commit reported ready. */
pn_frame pn_frame_reader_frame(const pn_frame_reader *fr);
/**
 * Copies bytes from data (len bytes) into the reader until a frame is complete: *consumed bytes
 * were taken, *ready says whether a frame is complete. Call again with the rest after handling it.
 */
pn_status pn_frame_reader_feed(pn_frame_reader *fr, const uint8_t *data, size_t len, size_t *consumed,
                               bool *ready);

#ifdef __cplusplus
}
#endif

#endif /* PAYNET_PN_FRAME_H */
