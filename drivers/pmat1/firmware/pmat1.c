/*
 * pmat1.c - PMAT/1 device side: see pmat1.h and ../PROTOCOL.md.
 *
 * Portable C99: no hardware access, no dynamic allocation, no stdio. All integers
 * on the wire are little-endian and are written byte by byte, so the code does not
 * depend on the processor's byte order or alignment rules.
 */
#include "pmat1.h"

#include <string.h>

static const uint8_t MAGIC[4] = {0x50, 0x4D, 0x41, 0x54}; /* "PMAT" */

/* ---- little-endian helpers ------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

/* ---- CRC-32 ------------------------------------------------------------------------
 * ISO-HDLC: reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF.
 * The running value is kept finalised between calls, as zlib does, so calls chain. */

#define CRC_POLY 0xEDB88320u

#ifdef PMAT1_CRC_BITWISE

uint32_t pmat1_crc32(uint32_t crc, const uint8_t *data, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *data++;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (CRC_POLY & (0u - (crc & 1u)));
    }
    return ~crc;
}

#else

static uint32_t crc_table[256];
static uint8_t crc_table_ready;

static void crc_table_build(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int bit = 0; bit < 8; bit++)
            c = (c >> 1) ^ (CRC_POLY & (0u - (c & 1u)));
        crc_table[i] = c;
    }
    crc_table_ready = 1;
}

uint32_t pmat1_crc32(uint32_t crc, const uint8_t *data, size_t n)
{
    if (!crc_table_ready)
        crc_table_build();
    crc = ~crc;
    while (n--)
        crc = (crc >> 8) ^ crc_table[(crc ^ *data++) & 0xFFu];
    return ~crc;
}

#endif

/* ---- packets ------------------------------------------------------------------------ */

/* Write the header in front of, and the CRC after, a body already at out + 16. */
static size_t finish_packet(uint8_t *out, uint8_t type, uint32_t seq, size_t n)
{
    memcpy(out, MAGIC, 4);
    out[4] = PMAT1_VERSION;
    out[5] = type;
    put16(out + 6, 0);
    put32(out + 8, (uint32_t)n);
    put32(out + 12, seq);
    put32(out + PMAT1_HEADER_SIZE + n, pmat1_crc32(0, out, PMAT1_HEADER_SIZE + n));
    return PMAT1_HEADER_SIZE + n + PMAT1_CRC_SIZE;
}

size_t pmat1_encode_packet(uint8_t *out, size_t cap, uint8_t type, uint32_t seq,
                           const uint8_t *body, size_t n)
{
    if (out == NULL || (n > 0 && body == NULL) || n > PMAT1_MAX_BODY)
        return 0;
    if (cap < PMAT1_HEADER_SIZE + PMAT1_CRC_SIZE || n > cap - PMAT1_HEADER_SIZE - PMAT1_CRC_SIZE)
        return 0;
    if (n > 0 && body != out + PMAT1_HEADER_SIZE)
        memmove(out + PMAT1_HEADER_SIZE, body, n);
    return finish_packet(out, type, seq, n);
}

size_t pmat1_encode_frame(uint8_t *out, size_t cap, uint32_t seq, uint64_t t_dev_us,
                          uint16_t rows, uint16_t cols, const uint16_t *cells,
                          uint8_t encoding, uint8_t flags)
{
    const size_t overhead = PMAT1_HEADER_SIZE + PMAT1_FRAME_HEAD_SIZE + PMAT1_CRC_SIZE;
    size_t n_cells = (size_t)rows * (size_t)cols;
    size_t room, len = 0;
    uint8_t *payload;

    if (out == NULL || cells == NULL || n_cells == 0 || cap < overhead)
        return 0;
    room = cap - overhead; /* bytes the payload may take */
    if (room > PMAT1_MAX_BODY - PMAT1_FRAME_HEAD_SIZE)
        room = PMAT1_MAX_BODY - PMAT1_FRAME_HEAD_SIZE;
    payload = out + PMAT1_HEADER_SIZE + PMAT1_FRAME_HEAD_SIZE;

    switch (encoding) {
    case PMAT1_ENC_U8:
        if (n_cells > room)
            return 0;
        for (size_t i = 0; i < n_cells; i++) {
            uint16_t v = cells[i];
            if (v > 255u) {
                v = 255u;
                flags |= PMAT1_FLAG_SATURATED;
            }
            payload[i] = (uint8_t)v;
        }
        len = n_cells;
        break;
    case PMAT1_ENC_U16:
        if (n_cells > room / 2)
            return 0;
        for (size_t i = 0; i < n_cells; i++)
            put16(payload + 2 * i, cells[i]);
        len = 2 * n_cells;
        break;
    case PMAT1_ENC_ZERO_RUN:
        /* A non-zero cell is one word; a run of zero cells is a zero word and the
         * run's length (1 .. 65535; a longer run is split). */
        for (size_t i = 0; i < n_cells;) {
            if (cells[i] != 0) {
                if (room - len < 2)
                    return 0;
                put16(payload + len, cells[i]);
                len += 2;
                i++;
            } else {
                size_t run = 1;
                while (i + run < n_cells && run < 65535u && cells[i + run] == 0)
                    run++;
                if (room - len < 4)
                    return 0;
                put16(payload + len, 0);
                put16(payload + len + 2, (uint16_t)run);
                len += 4;
                i += run;
            }
        }
        break;
    default:
        return 0;
    }

    {
        uint8_t *head = out + PMAT1_HEADER_SIZE;
        put64(head, t_dev_us);
        put16(head + 8, rows);
        put16(head + 10, cols);
        head[12] = encoding;
        head[13] = flags;
        put16(head + 14, 0);
    }
    return finish_packet(out, PMAT1_FRAME, seq, PMAT1_FRAME_HEAD_SIZE + len);
}

size_t pmat1_encode_ack(uint8_t *out, size_t cap, uint32_t request_id, uint8_t status)
{
    uint8_t body[5];
    put32(body, request_id);
    body[4] = status;
    return pmat1_encode_packet(out, cap, PMAT1_ACK, request_id, body, sizeof body);
}

size_t pmat1_encode_pong(uint8_t *out, size_t cap, uint32_t request_id, uint64_t host_ns,
                         uint64_t device_us)
{
    uint8_t body[16];
    put64(body, host_ns);
    put64(body + 8, device_us);
    return pmat1_encode_packet(out, cap, PMAT1_PONG, request_id, body, sizeof body);
}

/* ---- INFO: a small JSON writer (no stdio, no floating point) ------------------------ */

typedef struct {
    uint8_t *p;
    size_t cap, len;
    int ok;
} json_t;

static void json_char(json_t *j, char c)
{
    if (j->len < j->cap)
        j->p[j->len++] = (uint8_t)c;
    else
        j->ok = 0;
}

static void json_raw(json_t *j, const char *s)
{
    while (*s)
        json_char(j, *s++);
}

static void json_uint(json_t *j, uint32_t v)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n)
        json_char(j, digits[--n]);
}

/* A string, with '"', '\' and control characters escaped; other bytes as given (UTF-8). */
static void json_string(json_t *j, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    json_char(j, '"');
    for (; s != NULL && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            json_char(j, '\\');
            json_char(j, (char)c);
        } else if (c < 0x20u) {
            json_raw(j, "\\u00");
            json_char(j, hex[c >> 4]);
            json_char(j, hex[c & 0xFu]);
        } else {
            json_char(j, (char)c);
        }
    }
    json_char(j, '"');
}

/* Micrometres as millimetres: 8500 -> 8.5, 10000 -> 10, 7620 -> 7.62. */
static void json_mm(json_t *j, uint32_t um)
{
    uint32_t frac = um % 1000u;
    json_uint(j, um / 1000u);
    if (frac) {
        char d[3] = {(char)('0' + frac / 100u), (char)('0' + frac / 10u % 10u), (char)('0' + frac % 10u)};
        int n = 3;
        while (d[n - 1] == '0')
            n--;
        json_char(j, '.');
        for (int i = 0; i < n; i++)
            json_char(j, d[i]);
    }
}

static void json_key(json_t *j, const char *key, int first)
{
    if (!first)
        json_char(j, ',');
    json_string(j, key);
    json_char(j, ':');
}

static uint8_t offered_encodings(const pmat1_info_t *info)
{
    uint8_t mask = (uint8_t)(info->encodings & 0x07u);
    return mask ? mask : 0x07u;
}

size_t pmat1_encode_info(uint8_t *out, size_t cap, uint32_t seq, const pmat1_info_t *info)
{
    json_t j;
    int first = 1;

    if (out == NULL || info == NULL || cap < PMAT1_HEADER_SIZE + PMAT1_CRC_SIZE)
        return 0;
    j.p = out + PMAT1_HEADER_SIZE;
    j.cap = cap - PMAT1_HEADER_SIZE - PMAT1_CRC_SIZE;
    j.len = 0;
    j.ok = 1;

    json_char(&j, '{');
    json_key(&j, "vendor", 1);
    json_string(&j, info->vendor);
    json_key(&j, "model", 0);
    json_string(&j, info->model);
    json_key(&j, "serial", 0);
    json_string(&j, info->serial);
    json_key(&j, "firmware", 0);
    json_string(&j, info->firmware);
    json_key(&j, "rows", 0);
    json_uint(&j, info->rows);
    json_key(&j, "cols", 0);
    json_uint(&j, info->cols);
    json_key(&j, "adc_bits", 0);
    json_uint(&j, info->adc_bits);
    json_key(&j, "pitch_mm", 0);
    json_char(&j, '[');
    json_mm(&j, info->pitch_um[0]);
    json_char(&j, ',');
    json_mm(&j, info->pitch_um[1]);
    json_char(&j, ']');
    json_key(&j, "rate_hz", 0);
    json_uint(&j, info->rate_hz);
    json_key(&j, "encodings", 0);
    json_char(&j, '[');
    for (uint8_t e = 1; e <= 3; e++) {
        if (offered_encodings(info) & (1u << (e - 1))) {
            if (!first)
                json_char(&j, ',');
            json_uint(&j, e);
            first = 0;
        }
    }
    json_raw(&j, "]}");

    if (!j.ok)
        return 0;
    return finish_packet(out, PMAT1_INFO, seq, j.len);
}

/* ---- command parser ------------------------------------------------------------------ */

void pmat1_parser_init(pmat1_parser_t *parser)
{
    memset(parser, 0, sizeof *parser);
}

static void parser_drop(pmat1_parser_t *p, size_t k)
{
    memmove(p->buf, p->buf + k, p->len - k);
    p->len -= k;
}

/* Take every packet the buffer holds; leave it starting at a (partial) magic. */
static void parser_drain(pmat1_parser_t *p, pmat1_packet_fn on_packet, void *ctx)
{
    for (;;) {
        size_t skip = 0, n, total;

        /* Skip bytes until the buffer starts with the magic or with its beginning. */
        while (skip < p->len) {
            size_t avail = p->len - skip;
            if (memcmp(p->buf + skip, MAGIC, avail < 4 ? avail : 4) == 0)
                break;
            skip++;
        }
        if (skip) {
            p->junk_bytes += (uint32_t)skip;
            parser_drop(p, skip);
        }
        if (p->len < PMAT1_HEADER_SIZE)
            return;

        if (p->buf[4] != PMAT1_VERSION) {
            p->bad_versions++;
            p->junk_bytes++;
            parser_drop(p, 1); /* search again from the byte after this magic */
            continue;
        }
        n = get32(p->buf + 8);
        if (n > PMAT1_CMD_MAX_BODY) {
            p->bad_lengths++;
            p->junk_bytes++;
            parser_drop(p, 1);
            continue;
        }
        total = PMAT1_HEADER_SIZE + n + PMAT1_CRC_SIZE;
        if (p->len < total)
            return;
        if (pmat1_crc32(0, p->buf, PMAT1_HEADER_SIZE + n) != get32(p->buf + PMAT1_HEADER_SIZE + n)) {
            p->crc_errors++;
            p->junk_bytes++;
            parser_drop(p, 1);
            continue;
        }

        p->packets++;
        if (on_packet != NULL) {
            pmat1_packet_t packet;
            packet.type = p->buf[5];
            packet.seq = get32(p->buf + 12);
            packet.length = (uint32_t)n;
            packet.body = p->buf + PMAT1_HEADER_SIZE;
            on_packet(ctx, &packet);
        }
        parser_drop(p, total);
    }
}

void pmat1_parser_feed(pmat1_parser_t *parser, const uint8_t *data, size_t n,
                       pmat1_packet_fn on_packet, void *ctx)
{
    /* After each drain the buffer is shorter than the packet it waits for, which
     * is at most sizeof buf, so there is always room for one more byte. */
    for (size_t i = 0; i < n; i++) {
        parser->buf[parser->len++] = data[i];
        parser_drain(parser, on_packet, ctx);
    }
}

/* ---- device ---------------------------------------------------------------------------- */

static uint64_t device_clock(pmat1_device_t *dev)
{
    uint32_t now = dev->hw.micros(dev->hw.ctx);
    dev->clock_us += (uint32_t)(now - dev->last_micros); /* correct across a wrap */
    dev->last_micros = now;
    return dev->clock_us;
}

/* Hand the link whatever it takes now, never waiting. */
static void tx_pump(pmat1_device_t *dev)
{
    while (dev->tx_head < dev->tx_len) {
        size_t want = dev->tx_len - dev->tx_head;
        size_t took = dev->hw.write(dev->hw.ctx, dev->tx + dev->tx_head, want);
        if (took == 0)
            break;
        dev->tx_head += took < want ? took : want;
    }
    if (dev->tx_head == dev->tx_len)
        dev->tx_head = dev->tx_len = 0;
}

/* Move the unsent bytes to the front, so the free space is one block at the end. */
static void tx_compact(pmat1_device_t *dev)
{
    if (dev->tx_head > 0) {
        memmove(dev->tx, dev->tx + dev->tx_head, dev->tx_len - dev->tx_head);
        dev->tx_len -= dev->tx_head;
        dev->tx_head = 0;
    }
}

static void queued(pmat1_device_t *dev, size_t n)
{
    if (n)
        dev->tx_len += n;
    else
        dev->replies_dropped++;
}

static void on_command(void *ctx, const pmat1_packet_t *cmd)
{
    pmat1_device_t *dev = (pmat1_device_t *)ctx;
    uint8_t *end;
    size_t room;

    tx_compact(dev);
    end = dev->tx + dev->tx_len;
    room = dev->tx_cap - dev->tx_len;

    switch (cmd->type) {
    case PMAT1_GET_INFO:
        queued(dev, pmat1_encode_info(end, room, cmd->seq, dev->info));
        break;
    case PMAT1_START: {
        uint8_t status = PMAT1_STATUS_REFUSED;
        if (cmd->length == 3) {
            uint16_t rate = get16(cmd->body);
            uint8_t encoding = cmd->body[2];
            if (rate >= 1 && rate <= dev->max_rate_hz && encoding >= 1 && encoding <= 3 &&
                (dev->encodings & (1u << (encoding - 1)))) {
                dev->rate_hz = rate;
                dev->encoding = encoding;
                dev->streaming = 1;
                dev->epoch_us = device_clock(dev); /* first scan at the next poll */
                dev->slot = 0;
                status = PMAT1_STATUS_OK;
            }
        }
        queued(dev, pmat1_encode_ack(end, room, cmd->seq, status));
        break;
    }
    case PMAT1_STOP:
        dev->streaming = 0;
        queued(dev, pmat1_encode_ack(end, room, cmd->seq, PMAT1_STATUS_OK));
        break;
    case PMAT1_PING:
        if (cmd->length == 8)
            queued(dev, pmat1_encode_pong(end, room, cmd->seq, get64(cmd->body), device_clock(dev)));
        break;
    default:
        break; /* not a command this device knows: ignore it */
    }
}

int pmat1_device_init(pmat1_device_t *dev, const pmat1_info_t *info, const pmat1_hw_t *hw,
                      uint16_t *cells, uint8_t *tx, size_t tx_cap)
{
    size_t n;

    if (dev == NULL || info == NULL || hw == NULL || hw->scan == NULL || hw->write == NULL ||
        hw->micros == NULL || cells == NULL || tx == NULL || info->rows == 0 || info->cols == 0 ||
        info->rate_hz == 0 || tx_cap < PMAT1_TX_SIZE(info->rows, info->cols))
        return -1;

    memset(dev, 0, sizeof *dev);
    dev->info = info;
    dev->hw = *hw;
    dev->cells = cells;
    dev->tx = tx;
    dev->tx_cap = tx_cap;
    pmat1_parser_init(&dev->parser);
    dev->rate_hz = info->rate_hz;
    dev->max_rate_hz = info->max_rate_hz ? info->max_rate_hz : info->rate_hz;
    dev->encodings = offered_encodings(info);
    /* until a START says otherwise: zero-run if offered, else the widest offered */
    dev->encoding = PMAT1_ENC_U8;
    if (dev->encodings & 0x04u)
        dev->encoding = PMAT1_ENC_ZERO_RUN;
    else if (dev->encodings & 0x02u)
        dev->encoding = PMAT1_ENC_U16;
    dev->last_micros = hw->micros(hw->ctx);
    dev->clock_us = dev->last_micros;

    /* Announce ourselves; lost if no host is listening yet, which is fine. */
    n = pmat1_encode_info(tx, PMAT1_INFO_MAX, 0, info);
    if (n == 0)
        return -1;
    dev->tx_len = n;
    return 0;
}

void pmat1_device_receive(pmat1_device_t *dev, const uint8_t *data, size_t n)
{
    pmat1_parser_feed(&dev->parser, data, n, on_command, dev);
}

void pmat1_device_poll(pmat1_device_t *dev)
{
    uint64_t now, due;
    uint8_t flags;
    uint16_t rail;
    size_t n_cells, room, n;

    tx_pump(dev);
    if (!dev->streaming)
        return;

    /* Scan slot k is due at epoch + k / rate. Slots that passed while the device
     * was busy elsewhere count as scans not sent, so seq stays in step with time. */
    now = device_clock(dev);
    due = (now - dev->epoch_us) * dev->rate_hz / 1000000u;
    if (due < dev->slot)
        return;
    if (due > dev->slot) {
        uint32_t missed = (uint32_t)(due - dev->slot);
        dev->seq += missed;
        dev->scans += missed;
        dev->frames_dropped += missed;
        dev->overrun = 1;
    }
    dev->slot = due + 1;

    dev->hw.scan(dev->hw.ctx, dev->cells);
    n_cells = (size_t)dev->info->rows * dev->info->cols;
    rail = 0xFFFFu; /* the ADC's largest reading */
    if (dev->info->adc_bits >= 1 && dev->info->adc_bits < 16)
        rail = (uint16_t)((1u << dev->info->adc_bits) - 1u);
    flags = dev->overrun ? PMAT1_FLAG_DEVICE_OVERRUN : 0;
    for (size_t i = 0; i < n_cells; i++) {
        if (dev->cells[i] >= rail) {
            flags |= PMAT1_FLAG_SATURATED;
            break;
        }
    }

    /* Frames may not use the reply reserve; a frame that does not fit is dropped. */
    tx_compact(dev);
    room = dev->tx_cap - dev->tx_len;
    room = room > PMAT1_REPLY_RESERVE ? room - PMAT1_REPLY_RESERVE : 0;
    n = pmat1_encode_frame(dev->tx + dev->tx_len, room, dev->seq, now, dev->info->rows,
                           dev->info->cols, dev->cells, dev->encoding, flags);
    if (n) {
        dev->tx_len += n;
        dev->frames_sent++;
        dev->overrun = 0;
    } else {
        dev->frames_dropped++;
        dev->overrun = 1;
    }
    dev->seq++;
    dev->scans++;
    tx_pump(dev);
}

void pmat1_device_disconnect(pmat1_device_t *dev)
{
    dev->streaming = 0;
    dev->tx_head = dev->tx_len = 0;
    dev->parser.len = 0;
}
