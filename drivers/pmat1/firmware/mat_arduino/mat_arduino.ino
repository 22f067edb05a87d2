// mat_arduino.ino - PMAT/1 firmware for a resistive pressure matrix on a USB
// microcontroller (RP2040, Teensy, SAMD, ...), built on the portable pmat1.c.
//
// Before building: copy ../pmat1.c and ../pmat1.h into this folder (`make sketch`
// in the folder above does it); the Arduino IDE only compiles files in the sketch
// folder. Then adapt the lines marked ADAPT to your wiring.
//
// Wiring: each row line is driven by a digital pin; each column line goes to an
// analog input and, through a pull-down resistor (about 10 kOhm), to ground. The
// force-sensing material (velostat, FSR film, ...) sits where rows cross columns.
// One row at a time is driven HIGH while the others are held LOW (holding them LOW
// also keeps current from sneaking through other pressed sensels), and every column
// is read. More columns than the board has analog inputs need an analog
// multiplexer: read it in scan_matrix() instead of analogRead(COL_PINS[c]).

#include "pmat1.h"

// ---- ADAPT: the matrix and the board ----------------------------------------------
static const uint8_t ROW_PINS[] = {2, 3, 4, 5, 6, 7, 8, 9}; // ADAPT: row drive pins
static const uint8_t COL_PINS[] = {A0, A1, A2};              // ADAPT: column analog pins
static const uint8_t ADC_BITS = 12;         // ADAPT: a resolution analogReadResolution() takes
static const uint16_t SETTLE_US = 20;       // ADAPT: wait after switching a row
static const uint16_t RATE_HZ = 100;        // ADAPT: default scan rate
static const uint16_t MAX_RATE_HZ = 500;    // ADAPT: below 1 / (time one scan takes)
static const uint32_t PITCH_UM_X = 10000;   // ADAPT: column spacing, micrometres
static const uint32_t PITCH_UM_Y = 10000;   // ADAPT: row spacing, micrometres

#define ROWS (sizeof ROW_PINS / sizeof ROW_PINS[0])
#define COLS (sizeof COL_PINS / sizeof COL_PINS[0])

static const pmat1_info_t INFO = {
    "DIY",                 // ADAPT: vendor
    "resistive matrix",    // ADAPT: model
    "0001",                // ADAPT: serial number (one per mat)
    "pmat1-ref 1.0",       // firmware
    ROWS, COLS, ADC_BITS, {PITCH_UM_X, PITCH_UM_Y}, RATE_HZ, MAX_RATE_HZ,
    0x07,                  // encodings 1, 2 and 3
};

static uint16_t cells[ROWS * COLS];
static uint8_t tx[PMAT1_TX_SIZE(ROWS, COLS)];
static pmat1_device_t device;
static bool host_was_there = false;

// ---- the three things the portable code needs from the hardware ------------------

static void scan_matrix(void *, uint16_t *out) {
  for (size_t r = 0; r < ROWS; r++) {
    digitalWrite(ROW_PINS[r], HIGH);
    delayMicroseconds(SETTLE_US);
    for (size_t c = 0; c < COLS; c++)
      out[r * COLS + c] = (uint16_t)analogRead(COL_PINS[c]);
    digitalWrite(ROW_PINS[r], LOW);
  }
}

// Never waits: takes only what the USB buffer has room for.
static size_t usb_write(void *, const uint8_t *data, size_t n) {
  if (!Serial)
    return n;  // no host has the port open: the bytes go nowhere, as on a loose cable
  int room = Serial.availableForWrite();
  if (room <= 0)
    return 0;
  if ((size_t)room < n)
    n = (size_t)room;
  return Serial.write(data, n);
}

static uint32_t clock_us(void *) {
  return (uint32_t)micros();
}

// ---- Arduino entry points ------------------------------------------------------------

void setup() {
  for (size_t r = 0; r < ROWS; r++) {
    pinMode(ROW_PINS[r], OUTPUT);
    digitalWrite(ROW_PINS[r], LOW);
  }
  analogReadResolution(ADC_BITS);
  Serial.begin(115200);  // USB CDC ignores the baud rate

  const pmat1_hw_t hw = {nullptr, scan_matrix, usb_write, clock_us};
  if (pmat1_device_init(&device, &INFO, &hw, cells, tx, sizeof tx) != 0) {
    pinMode(LED_BUILTIN, OUTPUT);  // configuration error (strings too long?): blink forever
    for (;;) {
      digitalWrite(LED_BUILTIN, !digitalRead(LED_BUILTIN));
      delay(100);
    }
  }
}

void loop() {
  bool host_is_there = (bool)Serial;
  if (host_was_there && !host_is_there)
    pmat1_device_disconnect(&device);  // port closed: stop until the next START
  host_was_there = host_is_there;

  while (Serial.available() > 0) {
    uint8_t b = (uint8_t)Serial.read();
    pmat1_device_receive(&device, &b, 1);
  }
  pmat1_device_poll(&device);
}
