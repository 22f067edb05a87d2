/*
 * host_test.c - runs the portable PMAT/1 code on a PC and writes what a mat would
 * send to stdout, so the host decoder (plantar.drivers.pmat1) can check it.
 *
 *   host_test [HEAD [TAIL]] > stream.bin
 *
 * The stream holds, in order:
 *   1. an INFO (seq 0) describing the test device;
 *   2. the two golden-vector FRAMEs of PROTOCOL.md (seq 7 and 8);
 *   3. pattern frames, 12 x 20: seq 100..102 in encoding 1, 103..105 in encoding 2,
 *      106..108 in encoding 3, each with t_dev_us = 1000 * seq and the cells
 *      pattern(seq, r, c) below; then seq 200, a 300 x 300 frame in encoding 3 that
 *      is zero except three cells (zero runs longer than 65535), flags OVERRUN;
 *   4. with HEAD (a file of host -> device bytes, "-" for stdin): a session of the
 *      device state machine on a simulated clock and link, then a LOG packet with
 *      its counters.
 *
 * The session, in simulated time (ms after boot; micros() starts at T0_US, just
 * below 2**32, so the 32-bit clock wraps during the run):
 *      0  boot: INFO (seq 0); HEAD is fed in chunks of 1, 2, ... 7 bytes, with a
 *         poll after each chunk;
 *   1-45  link open, a poll every ms;
 *  46-85  link stalled (write takes nothing): frames pile up and are dropped;
 *  86-130 link open;
 *    130  TAIL is fed like HEAD;
 * 131-160 link open.
 * The device is 8 x 12 sensels; a scan at elapsed time e us reads the cells
 * pattern(e / 1000, r, c).
 *
 * Exit status 0; 1 (with a message on stderr) if a self-check fails.
 */
#include "pmat1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0_US 0xFFFF0000u
#define DEV_ROWS 8
#define DEV_COLS 12
#define PAT_ROWS 12
#define PAT_COLS 20
#define BIG_SIDE 300
#define MAX_INPUT 65536

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "host_test: self-check failed: %s\n", what);
        failures++;
    }
}

static void emit(const uint8_t *data, size_t n)
{
    if (n && fwrite(data, 1, n, stdout) != n) {
        fprintf(stderr, "host_test: cannot write to stdout\n");
        exit(1);
    }
}

/* The deterministic test pattern; tests/drivers/test_firmware.py computes the same. */
static uint16_t pattern(uint32_t k, uint32_t r, uint32_t c)
{
    if ((k * 7u + r * 3u + c * 5u) % 11u < 4u)
        return 0;
    return (uint16_t)((k * 1009u + r * 131u + c * 71u) % (k % 3u == 0 ? 250u : 4096u) + 1u);
}

static void fill(uint16_t *cells, uint32_t k, uint32_t rows, uint32_t cols)
{
    for (uint32_t r = 0; r < rows; r++)
        for (uint32_t c = 0; c < cols; c++)
            cells[r * cols + c] = pattern(k, r, c);
}

/* Encode a frame, check that one byte less of room is refused, and emit it. */
static void emit_frame(uint8_t *out, size_t cap, uint32_t seq, uint64_t t, uint16_t rows,
                       uint16_t cols, const uint16_t *cells, uint8_t encoding, uint8_t flags)
{
    size_t n = pmat1_encode_frame(out, cap, seq, t, rows, cols, cells, encoding, flags);
    check(n > 0, "a frame fits in its buffer");
    check(pmat1_encode_frame(out, n - 1, seq, t, rows, cols, cells, encoding, flags) == 0,
          "a frame one byte too big for its buffer is refused");
    check(pmat1_encode_frame(out, n, seq, t, rows, cols, cells, encoding, flags) == n,
          "a frame fits in a buffer of exactly its size");
    emit(out, n);
}

/* ---- the simulated hardware of the device session ---- */

static uint32_t fake_us = T0_US;
static int link_open = 1;

static void hw_scan(void *ctx, uint16_t *cells)
{
    (void)ctx;
    fill(cells, (uint32_t)(fake_us - T0_US) / 1000u, DEV_ROWS, DEV_COLS);
}

static size_t hw_write(void *ctx, const uint8_t *data, size_t n)
{
    (void)ctx;
    if (!link_open)
        return 0;
    emit(data, n);
    return n;
}

static uint32_t hw_micros(void *ctx)
{
    (void)ctx;
    return fake_us;
}

static size_t read_input(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t n;
    if (f == NULL) {
        fprintf(stderr, "host_test: cannot open %s\n", path);
        exit(1);
    }
    n = fread(buf, 1, cap, f);
    if (!feof(f)) {
        fprintf(stderr, "host_test: %s is longer than %u bytes\n", path, (unsigned)cap);
        exit(1);
    }
    if (f != stdin)
        fclose(f);
    return n;
}

/* Feed bytes in chunks of 1, 2, ... 7 bytes, polling after each chunk. */
static void feed(pmat1_device_t *dev, const uint8_t *data, size_t n)
{
    size_t chunk = 1;
    while (n) {
        size_t k = chunk < n ? chunk : n;
        pmat1_device_receive(dev, data, k);
        pmat1_device_poll(dev);
        data += k;
        n -= k;
        chunk = chunk % 7 + 1;
    }
}

static void run_until(pmat1_device_t *dev, uint32_t ms)
{
    while ((uint32_t)(fake_us - T0_US) < ms * 1000u) {
        fake_us += 1000u;
        pmat1_device_poll(dev);
    }
}

static void session(const pmat1_info_t *info, const char *head_path, const char *tail_path)
{
    static uint8_t head[MAX_INPUT], tail[MAX_INPUT];
    static uint16_t cells[DEV_ROWS * DEV_COLS];
    static uint8_t tx[PMAT1_TX_SIZE(DEV_ROWS, DEV_COLS)];
    pmat1_hw_t hw = {NULL, hw_scan, hw_write, hw_micros};
    pmat1_device_t dev;
    size_t n_head = read_input(head_path, head, sizeof head);
    size_t n_tail = tail_path ? read_input(tail_path, tail, sizeof tail) : 0;
    char text[256];
    uint8_t out[512];
    int n;

    check(pmat1_device_init(&dev, info, &hw, cells, tx, sizeof tx - 1) == -1,
          "a transmit buffer smaller than PMAT1_TX_SIZE is refused");
    check(pmat1_device_init(&dev, info, &hw, cells, tx, sizeof tx) == 0, "the device starts");
    pmat1_device_poll(&dev);
    feed(&dev, head, n_head);
    run_until(&dev, 45);
    link_open = 0;
    run_until(&dev, 85);
    link_open = 1;
    run_until(&dev, 130);
    feed(&dev, tail, n_tail);
    run_until(&dev, 160);

    n = snprintf(text, sizeof text,
                 "device scans=%lu frames_sent=%lu frames_dropped=%lu replies_dropped=%lu "
                 "parser packets=%lu junk_bytes=%lu crc_errors=%lu bad_lengths=%lu bad_versions=%lu",
                 (unsigned long)dev.scans, (unsigned long)dev.frames_sent,
                 (unsigned long)dev.frames_dropped, (unsigned long)dev.replies_dropped,
                 (unsigned long)dev.parser.packets, (unsigned long)dev.parser.junk_bytes,
                 (unsigned long)dev.parser.crc_errors, (unsigned long)dev.parser.bad_lengths,
                 (unsigned long)dev.parser.bad_versions);
    check(n > 0 && (size_t)n < sizeof text, "the counters fit in the LOG text");
    fprintf(stderr, "host_test: %s\n", text);
    emit(out, pmat1_encode_packet(out, sizeof out, PMAT1_LOG, 0, (const uint8_t *)text, (size_t)n));
}

int main(int argc, char **argv)
{
    static uint8_t out[PMAT1_FRAME_MAX(BIG_SIDE, BIG_SIDE)];
    static uint16_t cells[BIG_SIDE * BIG_SIDE];
    static const uint16_t golden_u8[6] = {0x00, 0x01, 0x02, 0xFA, 0x00, 0xFF};
    static const uint16_t golden_zero_run[6] = {5, 0, 0, 0, 0, 7};
    static const uint8_t check_string[] = "123456789";
    pmat1_info_t info = {
        "plantar", "reference \"PMAT/1\" \\ host test", "HT-0001", "pmat1-ref 1.0",
        DEV_ROWS, DEV_COLS, 12, {8500, 10000}, 100, 1000, 0x07,
    };
    size_t n;

    if (argc > 3) {
        fprintf(stderr, "usage: host_test [HEAD [TAIL]] > stream.bin\n");
        return 2;
    }

    /* CRC-32/ISO-HDLC check value, and chaining as zlib.crc32 does */
    check(pmat1_crc32(0, check_string, 9) == 0xCBF43926u, "CRC-32 of \"123456789\" is cbf43926");
    check(pmat1_crc32(pmat1_crc32(0, check_string, 4), check_string + 4, 5) == 0xCBF43926u,
          "CRC-32 chains over pieces");

    /* 1. INFO */
    n = pmat1_encode_info(out, sizeof out, 0, &info);
    check(n > 0 && n <= PMAT1_INFO_MAX, "the INFO fits");
    check(pmat1_encode_info(out, n - 1, 0, &info) == 0, "an INFO too big for its buffer is refused");
    n = pmat1_encode_info(out, n, 0, &info);
    emit(out, n);

    /* 2. golden vectors */
    emit_frame(out, sizeof out, 7, 1000000u, 2, 3, golden_u8, PMAT1_ENC_U8, 0);
    emit_frame(out, sizeof out, 8, 2000000u, 2, 3, golden_zero_run, PMAT1_ENC_ZERO_RUN, 0);

    /* 3. pattern frames in the three encodings, then the sparse 300 x 300 frame */
    for (uint8_t encoding = 1; encoding <= 3; encoding++) {
        for (uint32_t j = 0; j < 3; j++) {
            uint32_t seq = 100u + 3u * (encoding - 1u) + j;
            fill(cells, seq, PAT_ROWS, PAT_COLS);
            emit_frame(out, sizeof out, seq, 1000u * (uint64_t)seq, PAT_ROWS, PAT_COLS, cells,
                       encoding, 0);
        }
    }
    memset(cells, 0, sizeof cells);
    cells[5] = 1;
    cells[70000] = 65535;
    cells[BIG_SIDE * BIG_SIDE - 1] = 42;
    emit_frame(out, sizeof out, 200, 200000u, BIG_SIDE, BIG_SIDE, cells, PMAT1_ENC_ZERO_RUN,
               PMAT1_FLAG_DEVICE_OVERRUN);

    check(pmat1_encode_frame(out, sizeof out, 1, 0, 2, 3, golden_u8, 4, 0) == 0,
          "an unknown encoding is refused");
    check(pmat1_encode_frame(out, sizeof out, 1, 0, 0, 3, golden_u8, 1, 0) == 0,
          "an empty frame is refused");

    /* 4. the device session */
    if (argc >= 2)
        session(&info, argv[1], argc == 3 ? argv[2] : NULL);

    if (fflush(stdout) != 0) {
        fprintf(stderr, "host_test: cannot write to stdout\n");
        return 1;
    }
    return failures ? 1 : 0;
}
