/*
 * Unit tests of the paynet C runtime's building blocks: the wire primitives (varints, fixed and
 * length-delimited values, writers that stop at their buffer), the incremental frame reader (byte by
 * byte, Len judged before its payload is buffered) and full-jitter backoff with an injected random
 * source, spread over its window after a lost session. Built and run by test/c/runtime.test.ts under ASan/UBSan and under valgrind.
 */
#include <paynet/pn_backoff.h>
#include <paynet/pn_frame.h>
#include <paynet/pn_wire.h>

#include "check.h"
#include "fakes.h"

/* ---- wire ----------------------------------------------------------------------------------------- */

static void varints_round_trip_at_their_edges(void) {
  const uint64_t values[] = {0, 1, 127, 128, 16383, 16384, 0xFFFFFFFFu, 0x100000000u, UINT64_MAX};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    uint8_t buf[10];
    pn_writer w;
    pn_writer_init(&w, buf, sizeof buf);
    CHECK_EQ(pn_write_varint(&w, values[i]), PN_OK);
    CHECK_EQ(w.len, pn_varint_size(values[i]));
    pn_reader r;
    pn_reader_init(&r, buf, w.len);
    uint64_t back = 0;
    CHECK_EQ(pn_read_varint(&r, &back), PN_OK);
    CHECK(back == values[i]);
    CHECK_EQ(r.pos, w.len);
  }
  /* -1 as int32 takes ten bytes, as protobuf writes it. */
  CHECK_EQ(pn_varint_size(pn_int32_varint(-1)), 10);
  CHECK_EQ(pn_unzigzag32(pn_zigzag32(-2147483647 - 1)), -2147483647 - 1);
  CHECK(pn_unzigzag64(pn_zigzag64(INT64_MIN)) == INT64_MIN);
}

static void readers_refuse_truncated_and_malformed_input(void) {
  const uint8_t cut[] = {0x80, 0x80};
  pn_reader r;
  uint64_t v;
  pn_reader_init(&r, cut, sizeof cut);
  CHECK_EQ(pn_read_varint(&r, &v), PN_ERR_TRUNCATED);
  const uint8_t eleven[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
  pn_reader_init(&r, eleven, sizeof eleven);
  CHECK_EQ(pn_read_varint(&r, &v), PN_ERR_MALFORMED);
  const uint8_t long_len[] = {0x0A, 0x05, 'a', 'b'};
  pn_reader_init(&r, long_len, sizeof long_len);
  uint32_t field, wt;
  size_t n;
  CHECK_EQ(pn_read_tag(&r, &field, &wt), PN_OK);
  CHECK_EQ(pn_read_len(&r, &n), PN_ERR_TRUNCATED);
  const uint8_t field_zero[] = {0x02};
  pn_reader_init(&r, field_zero, sizeof field_zero);
  CHECK_EQ(pn_read_tag(&r, &field, &wt), PN_ERR_MALFORMED);
  /* A group is skipped to its own end tag; a stray end tag is malformed. */
  const uint8_t group[] = {0x0B, 0x10, 0x01, 0x1B, 0x1C, 0x0C, 0x18, 0x02};
  pn_reader_init(&r, group, sizeof group);
  CHECK_EQ(pn_read_tag(&r, &field, &wt), PN_OK);
  CHECK_EQ(pn_skip(&r, wt, field), PN_OK);
  CHECK_EQ(r.pos, 6);
  const uint8_t stray[] = {0x0C};
  pn_reader_init(&r, stray, sizeof stray);
  CHECK_EQ(pn_read_tag(&r, &field, &wt), PN_OK);
  CHECK_EQ(pn_skip(&r, wt, field), PN_ERR_MALFORMED);
}

static void writers_stop_at_their_buffer(void) {
  uint8_t buf[3];
  pn_writer w;
  pn_writer_init(&w, buf, sizeof buf);
  CHECK_EQ(pn_write_len_bytes(&w, (const uint8_t *)"abc", 3), PN_ERR_OVERFLOW);
  CHECK_EQ(w.len, 0);
  CHECK_EQ(pn_write_varint(&w, 300), PN_OK);
  CHECK_EQ(pn_write_fixed32(&w, 1), PN_ERR_OVERFLOW);
  CHECK_EQ(w.len, 2);
}

/* ---- frames ---------------------------------------------------------------------------------------- */

static void frame_reader_takes_frames_byte_by_byte(void) {
  uint8_t stream[64];
  size_t len = 0;
  pn_frame_header(stream, 0x81, 3);
  memcpy(stream + 5, "abc", 3);
  pn_frame_header(stream + 8, 0x83, 0);
  len = 13;
  uint8_t buf[16];
  pn_frame_reader fr;
  pn_frame_reader_init(&fr, buf, sizeof buf);
  unsigned frames = 0;
  for (size_t i = 0; i < len; i++) {
    size_t consumed;
    bool ready;
    CHECK_EQ(pn_frame_reader_feed(&fr, stream + i, 1, &consumed, &ready), PN_OK);
    CHECK_EQ(consumed, 1);
    if (!ready) continue;
    pn_frame frame = pn_frame_reader_frame(&fr);
    if (frames == 0) {
      CHECK_EQ(frame.type, 0x81);
      CHECK_EQ(frame.len, 3);
      CHECK(memcmp(frame.payload, "abc", 3) == 0);
    } else {
      CHECK_EQ(frame.type, 0x83);
      CHECK_EQ(frame.len, 0);
    }
    frames++;
  }
  CHECK_EQ(frames, 2);
}

static void frame_reader_judges_len_before_buffering(void) {
  uint8_t buf[16];
  pn_frame_reader fr;
  pn_frame_reader_init(&fr, buf, sizeof buf);
  const uint8_t too_large[] = {0x00, 0x00, 0x00, 0x12, 0x04, 'x'}; /* 17 payload bytes > 16 */
  size_t consumed;
  bool ready;
  CHECK_EQ(pn_frame_reader_feed(&fr, too_large, sizeof too_large, &consumed, &ready), PN_ERR_FRAME_TOO_LARGE);
  CHECK(consumed <= PN_FRAME_HEADER_SIZE);
  CHECK(!ready);
  /* Failed stays failed until reset. */
  CHECK_EQ(pn_frame_reader_feed(&fr, too_large, sizeof too_large, &consumed, &ready), PN_ERR_FRAME_TOO_LARGE);
  pn_frame_reader_reset(&fr);
  const uint8_t fits[] = {0x00, 0x00, 0x00, 0x11, 0x04};
  CHECK_EQ(pn_frame_reader_feed(&fr, fits, sizeof fits, &consumed, &ready), PN_OK);
  const uint8_t zero[] = {0x00, 0x00, 0x00, 0x00};
  pn_frame_reader_reset(&fr);
  CHECK_EQ(pn_frame_reader_feed(&fr, zero, sizeof zero, &consumed, &ready), PN_ERR_PROTOCOL);
  /* The largest Len a header can hold is refused without overflow. */
  const uint8_t huge[] = {0xFF, 0xFF, 0xFF, 0xFF};
  pn_frame_reader_reset(&fr);
  CHECK_EQ(pn_frame_reader_feed(&fr, huge, sizeof huge, &consumed, &ready), PN_ERR_FRAME_TOO_LARGE);
}

/* ---- backoff --------------------------------------------------------------------------------------- */

static void backoff_doubles_to_its_cap_with_full_jitter(void) {
  pn_backoff b;
  pn_backoff_init(&b, 1000, 64000, 5000, random_max, NULL);
  const uint32_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 64000, 64000};
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) CHECK_EQ(pn_backoff_next(&b), expected[i]);
  pn_backoff_init(&b, 1000, 64000, 5000, random_zero, NULL);
  CHECK_EQ(pn_backoff_next(&b), 0);
  CHECK_EQ(pn_backoff_next(&b), 0);
  /* A half-way random word lands half-way: the delay is uniform in [0, ceiling]. */
  const uint32_t half[] = {0x80000000u};
  sequence s = {half, 1, 0};
  pn_backoff_init(&b, 1000, 64000, 5000, random_sequence, &s);
  CHECK_EQ(pn_backoff_next(&b), 500);
  CHECK_EQ(pn_backoff_next(&b), 1000);
  CHECK_EQ(pn_backoff_next(&b), 2000);
  /* Once a session was lost the delays are spread over [0, 5000] while the step is shorter; this
   * step (8000) already outgrew the window, so it keeps its own full jitter. */
  pn_backoff_session_lost(&b);
  CHECK_EQ(pn_backoff_ceiling(&b), 8000);
  CHECK_EQ(pn_backoff_next(&b), 4000);
  /* A reset (the session had stayed up) restarts the steps; they are spread until 8000 again. */
  pn_backoff_reset(&b);
  const uint32_t spread_then_steps[] = {2500, 2500, 2500, 4000, 8000};
  for (size_t i = 0; i < sizeof spread_then_steps / sizeof spread_then_steps[0]; i++)
    CHECK_EQ(pn_backoff_next(&b), spread_then_steps[i]);
}

/* The parameters of the TypeScript client's reconnect-spread test: 10 ms doubling, 100 ms window. */
static void backoff_after_a_lost_session_follows_the_typescript_rule(void) {
  const uint32_t half[] = {0x80000000u};
  sequence s = {half, 1, 0};
  pn_backoff b;
  pn_backoff_init(&b, 10, 1000, 100, random_sequence, &s);
  pn_backoff_session_lost(&b);
  /* Steps 10, 20, 40, 80 are shorter than 100 (half-way: 50); 160 and 320 are not. */
  const uint32_t expected[] = {50, 50, 50, 50, 80, 160};
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) CHECK_EQ(pn_backoff_next(&b), expected[i]);
  /* A fleet of 1000 devices spread over the default 5 s: at most 5 % in any 100 ms window. */
  unsigned windows[51] = {0};
  for (uint32_t i = 0; i < 1000; i++) {
    const uint32_t word[] = {(uint32_t)(((uint64_t)i * 2 + 1) * 0x80000000ull / 1000)};
    sequence one = {word, 1, 0};
    pn_backoff_init(&b, 1000, 64000, 5000, random_sequence, &one);
    pn_backoff_session_lost(&b);
    windows[pn_backoff_next(&b) / 100]++;
  }
  for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) CHECK(windows[w] <= 50);
}

int main(void) {
  RUN(varints_round_trip_at_their_edges);
  RUN(readers_refuse_truncated_and_malformed_input);
  RUN(writers_stop_at_their_buffer);
  RUN(frame_reader_takes_frames_byte_by_byte);
  RUN(frame_reader_judges_len_before_buffering);
  RUN(backoff_doubles_to_its_cap_with_full_jitter);
  RUN(backoff_after_a_lost_session_follows_the_typescript_rule);
  CHECK_DONE();
}
