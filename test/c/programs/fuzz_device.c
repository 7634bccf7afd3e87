/*
 * libFuzzer target: arbitrary bytes from "the server" through the frame reader and every generated
 * decoder, then through the whole device side of paybox (client state machine, login flow,
 * dispatcher, command record in memory) on a fake transport and clock. Any crash, sanitizer report
 * or leak fails the run.
 */
#include "fakes.h"
#include "paybox_device.h"

static uint32_t random_word(void *ctx) {
  uint32_t *state = ctx;
  *state = *state * 1664525u + 1013904223u;
  return *state;
}

static void on_coin_command(paybox_device *d, paybox_command cmd, const paybox_CoinCommand *m) {
  /* Answer at once, sometimes finally, as a device would. */
  paybox_CoinAck ack;
  paybox_CoinAck_init(&ack);
  memcpy(ack.order_id.data, m->order_id.data, m->order_id.len);
  ack.order_id.len = m->order_id.len;
  ack.state = m->coins % 2 == 0 ? paybox_CoinState_COIN_DONE : paybox_CoinState_COIN_RUNNING;
  (void)paybox_reply_CoinCommand(d, cmd, &ack);
}

static const paybox_handlers handlers = {.on_CoinCommand = on_coin_command};

static void decode_every_way(const uint8_t *data, size_t size) {
  static uint8_t buffer[PAYBOX_RX_SIZE];
  pn_frame_reader reader;
  pn_frame_reader_init(&reader, buffer, sizeof buffer);
  size_t offset = 0;
  while (offset < size) {
    size_t consumed;
    bool ready;
    if (pn_frame_reader_feed(&reader, data + offset, size - offset, &consumed, &ready) != PN_OK) return;
    offset += consumed;
    if (!ready) continue;
    pn_frame frame = pn_frame_reader_frame(&reader);
#define DECODE(T, NAME)                                  \
  {                                                      \
    static T m;                                          \
    if (T##_decode(frame.payload, frame.len, &m) == PN_OK) { \
      static uint8_t out[4096];                          \
      pn_writer w;                                       \
      pn_writer_init(&w, out, sizeof out);               \
      (void)T##_encode(&m, &w);                          \
    }                                                    \
  }
    PAYBOX_MESSAGES(DECODE)
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  decode_every_way(data, size);

  static fake_transport transport;
  static memory_storage storage;
  static paybox_device device;
  memset(&transport, 0, sizeof transport);
  memset(storage.bytes, 0, PAYBOX_RECORD_STORAGE_SIZE < sizeof storage.bytes ? PAYBOX_RECORD_STORAGE_SIZE : sizeof storage.bytes);
  storage.tear_after = 0;
  storage.fail_writes = false;
  transport.handshake_result = PN_OK;
  transport.peer_closed = true;
  size_t n = size < FAKE_BUFFER ? size : FAKE_BUFFER;
  memcpy(transport.inbound, data, n);
  transport.in_len = n;
  uint32_t seed = (uint32_t)size;
  pn_client_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.host = "fuzz";
  cfg.port = 1;
  cfg.heartbeat_interval_ms = 50;
  cfg.random = random_word;
  cfg.random_ctx = &seed;
  if (paybox_device_init(&device, &cfg, fake_transport_of(&transport), memory_storage_of(&storage), &handlers, NULL) != PN_OK) {
    return 0;
  }
  uint64_t now = 1000;
  paybox_device_start(&device, now);
  /* Until the bytes are consumed and the link ended (peer_closed), or enough fake time passed. */
  for (unsigned step = 0; step < 256 && transport.opens < 2; step++) {
    uint32_t sleep = paybox_device_tick(&device, now);
    now += sleep > 1000u ? 1000u : sleep + 1u;
  }
  paybox_device_stop(&device);
  return 0;
}
