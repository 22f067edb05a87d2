/*
 * pmat1.h - PMAT/1 device side: packet encoders, command parser, device state machine.
 *
 * Portable C99 with no dynamic allocation and no hardware access: the hardware is
 * reached only through the three callbacks of pmat1_hw_t (scan, write, micros), so
 * the same code runs on a microcontroller and in the PC test (host_test.c).
 * The wire format is described in ../PROTOCOL.md.
 *
 * Build options (define when compiling pmat1.c):
 *   PMAT1_CRC_BITWISE   compute the CRC-32 bit by bit (no table, about 8x slower);
 *                       by default a 1 KiB table is built in RAM on first use.
 */
#ifndef PMAT1_H
#define PMAT1_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- wire constants ---------------------------------------------------------- */

#define PMAT1_VERSION 1u
#define PMAT1_HEADER_SIZE 16u     /* magic, version, type, reserved, length, seq */
#define PMAT1_CRC_SIZE 4u
#define PMAT1_FRAME_HEAD_SIZE 16u /* t_dev_us, rows, cols, encoding, flags, reserved */
#define PMAT1_MAX_BODY (16ul * 1024ul * 1024ul)

/* packet types, device -> host */
#define PMAT1_FRAME 0x01u
#define PMAT1_INFO 0x02u
#define PMAT1_ACK 0x03u
#define PMAT1_LOG 0x04u
#define PMAT1_PONG 0x05u
/* packet types, host -> device */
#define PMAT1_GET_INFO 0x81u
#define PMAT1_START 0x82u
#define PMAT1_STOP 0x83u
#define PMAT1_PING 0x84u

/* FRAME cell encodings */
#define PMAT1_ENC_U8 1u
#define PMAT1_ENC_U16 2u
#define PMAT1_ENC_ZERO_RUN 3u

/* FRAME flags */
#define PMAT1_FLAG_DEVICE_OVERRUN 0x01u /* at least one scan before this one was not sent */
#define PMAT1_FLAG_SATURATED 0x02u      /* some cell is at the ADC rail */

/* ACK status */
#define PMAT1_STATUS_OK 0u
#define PMAT1_STATUS_REFUSED 1u

/* Largest FRAME packet for a rows x cols mat, whatever the encoding (the zero-run
 * encoding needs at most 4 bytes a cell, when zero and non-zero cells alternate). */
#define PMAT1_FRAME_MAX(rows, cols) \
    (PMAT1_HEADER_SIZE + PMAT1_FRAME_HEAD_SIZE + 4u * (size_t)(rows) * (size_t)(cols) + PMAT1_CRC_SIZE)

/* Transmit space kept free of frames for replies (INFO, ACK, PONG). */
#define PMAT1_REPLY_RESERVE 512u
/* The INFO packet must fit in this, so that ACKs still fit in the reserve after it. */
#define PMAT1_INFO_MAX 384u

/* Transmit buffer a device needs: one whole frame plus the reply reserve. */
#define PMAT1_TX_SIZE(rows, cols) (PMAT1_FRAME_MAX(rows, cols) + PMAT1_REPLY_RESERVE)

/* Longest command body the device accepts (START is 3 bytes, PING 8). A longer
 * length field is treated as corruption by the command parser. */
#define PMAT1_CMD_MAX_BODY 64u

/* ---- CRC-32 (ISO-HDLC, the one zlib.crc32 computes) --------------------------- */

/* Continue a CRC over more bytes; start with crc = 0. Like zlib.crc32(data, crc):
 * pmat1_crc32(pmat1_crc32(0, a, na), b, nb) == pmat1_crc32(0, ab, na + nb). */
uint32_t pmat1_crc32(uint32_t crc, const uint8_t *data, size_t n);

/* ---- encoders ----------------------------------------------------------------
 * Each writes one whole packet to out and returns its length in bytes, or 0 (and
 * writes nothing useful) if cap is too small or an argument is invalid. */

/* Any packet: header, body (n bytes; body may point into out + 16), CRC. */
size_t pmat1_encode_packet(uint8_t *out, size_t cap, uint8_t type, uint32_t seq,
                           const uint8_t *body, size_t n);

/* A FRAME of rows x cols cells, row-major. encoding is PMAT1_ENC_U8, _U16 or
 * _ZERO_RUN. With PMAT1_ENC_U8 a cell above 255 is sent as 255 and
 * PMAT1_FLAG_SATURATED is set in the flags sent. Returns 0 for an unknown
 * encoding, rows or cols of 0, or a packet that does not fit in cap. */
size_t pmat1_encode_frame(uint8_t *out, size_t cap, uint32_t seq, uint64_t t_dev_us,
                          uint16_t rows, uint16_t cols, const uint16_t *cells,
                          uint8_t encoding, uint8_t flags);

/* What the device says about itself in its INFO packet. */
typedef struct {
    const char *vendor;   /* UTF-8 strings, escaped as JSON needs */
    const char *model;
    const char *serial;
    const char *firmware;
    uint16_t rows, cols;
    uint8_t adc_bits;     /* resolution of the readings, e.g. 12 */
    uint32_t pitch_um[2]; /* sensor pitch along x (columns) and y (rows), micrometres */
    uint16_t rate_hz;     /* default scan rate, sent in INFO */
    uint16_t max_rate_hz; /* fastest rate START may ask for (0: rate_hz) */
    uint8_t encodings;    /* bit (e - 1) set if encoding e is offered (0: all three) */
} pmat1_info_t;

/* The INFO packet: a JSON object with vendor, model, serial, firmware, rows, cols,
 * adc_bits, pitch_mm [x, y], rate_hz and encodings. seq is 0 at boot, the request
 * id in reply to GET_INFO. */
size_t pmat1_encode_info(uint8_t *out, size_t cap, uint32_t seq, const pmat1_info_t *info);

/* The ACK of the command whose request id is request_id (status 0 = ok). */
size_t pmat1_encode_ack(uint8_t *out, size_t cap, uint32_t request_id, uint8_t status);

/* The PONG answering a PING: the host time it carried, then the device time. */
size_t pmat1_encode_pong(uint8_t *out, size_t cap, uint32_t request_id, uint64_t host_ns,
                         uint64_t device_us);

/* ---- command parser (host -> device) -----------------------------------------
 * Incremental: feed bytes in any chunking. It searches for the magic "PMAT", checks
 * version, length and CRC, and hands each valid packet to a callback. On a bad
 * version, length or CRC it counts the error and searches again from the byte
 * after that magic, so it resynchronises after any corruption. */

typedef struct {
    uint8_t type;
    uint32_t seq;       /* request id */
    uint32_t length;    /* body length */
    const uint8_t *body;/* valid only during the callback */
} pmat1_packet_t;

typedef void (*pmat1_packet_fn)(void *ctx, const pmat1_packet_t *packet);

typedef struct {
    uint8_t buf[PMAT1_HEADER_SIZE + PMAT1_CMD_MAX_BODY + PMAT1_CRC_SIZE];
    size_t len;
    /* counters, as the host decoder keeps them */
    uint32_t packets;      /* valid packets */
    uint32_t junk_bytes;   /* bytes that belonged to no valid packet */
    uint32_t crc_errors;
    uint32_t bad_lengths;
    uint32_t bad_versions;
} pmat1_parser_t;

void pmat1_parser_init(pmat1_parser_t *parser);
void pmat1_parser_feed(pmat1_parser_t *parser, const uint8_t *data, size_t n,
                       pmat1_packet_fn on_packet, void *ctx);

/* ---- device state machine -----------------------------------------------------
 * Idle after boot (it announces itself with INFO), streaming between START and
 * STOP. Call pmat1_device_receive() with the bytes the host sent and
 * pmat1_device_poll() as often as possible (every pass of the main loop): it scans
 * when a scan is due, encodes the frame and writes whatever the link accepts. It
 * never waits for the link: a frame that does not fit in the transmit buffer is
 * dropped, and the next frame sent carries PMAT1_FLAG_DEVICE_OVERRUN. */

typedef struct {
    void *ctx; /* passed back to every callback */
    /* Read the whole matrix into cells[rows * cols], row-major. */
    void (*scan)(void *ctx, uint16_t *cells);
    /* Write up to n bytes without waiting; return how many were taken (0 if none). */
    size_t (*write)(void *ctx, const uint8_t *data, size_t n);
    /* A free-running microsecond clock (it may wrap at 2**32). */
    uint32_t (*micros)(void *ctx);
} pmat1_hw_t;

typedef struct {
    const pmat1_info_t *info;
    pmat1_hw_t hw;
    uint16_t *cells; /* rows * cols, owned by the caller */
    uint8_t *tx;     /* transmit buffer, owned by the caller */
    size_t tx_cap, tx_head, tx_len; /* bytes tx[tx_head .. tx_len) are waiting for the link */
    pmat1_parser_t parser;

    uint8_t streaming;   /* 0 idle, 1 streaming */
    uint8_t encoding;    /* encoding of the frames sent */
    uint8_t overrun;     /* a scan was not sent since the last frame sent */
    uint16_t rate_hz;
    uint16_t max_rate_hz;
    uint8_t encodings;   /* offered encodings, bit (e - 1) */
    uint32_t seq;        /* scan counter of the next scan; 0 at boot */

    uint64_t clock_us;   /* device clock, micros() extended to 64 bits */
    uint32_t last_micros;
    uint64_t epoch_us;   /* when streaming (re)started */
    uint64_t slot;       /* index, since epoch_us, of the next scan slot */

    /* counters */
    uint32_t scans;          /* scan slots counted (equals seq) */
    uint32_t frames_sent;    /* frames queued for the link */
    uint32_t frames_dropped; /* scans not sent: no room, or the slot was missed */
    uint32_t replies_dropped;/* replies that did not fit */
} pmat1_device_t;

/* Set up a device and queue its INFO announcement. cells must hold rows * cols
 * values; tx must hold at least PMAT1_TX_SIZE(rows, cols) bytes. Returns 0, or -1
 * if an argument is invalid, tx is too small or the INFO is longer than
 * PMAT1_INFO_MAX bytes (shorten the strings). */
int pmat1_device_init(pmat1_device_t *dev, const pmat1_info_t *info, const pmat1_hw_t *hw,
                      uint16_t *cells, uint8_t *tx, size_t tx_cap);

/* Bytes received from the host (any chunking). Replies are queued, not written. */
void pmat1_device_receive(pmat1_device_t *dev, const uint8_t *data, size_t n);

/* Write what the link takes, scan if a scan is due, queue its frame. */
void pmat1_device_poll(pmat1_device_t *dev);

/* The host went away (port closed, cable pulled): stop streaming, forget unsent
 * bytes and any partial command. The scan counter keeps counting. */
void pmat1_device_disconnect(pmat1_device_t *dev);

#ifdef __cplusplus
}
#endif

#endif /* PMAT1_H */
