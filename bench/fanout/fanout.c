// WebSocket fan-out (publish/subscribe) load generator. S subscriber connections and P publisher
// connections to one server; each publisher keeps K messages in flight, a message being in flight
// from the moment it is written until every subscriber has received it. The server is expected to
// send every message a publisher sends to every subscriber and to no publisher.
// Single-threaded epoll, like bench/e2e/loadgen.c.
//   fanout HOST PORT SUBS PUBS INFLIGHT SIZE plain|deflate WARMUP SECONDS [SERVER_PID]
// Subscribers ask for "/", publishers for "/pub". Every delivery is checked: opcode binary, FIN,
// length, the whole payload (publisher id, sequence number at both ends, filler), and the sequence
// number is the next one expected from that publisher on that subscriber (order and loss).
// deflate: subscribers offer permessage-deflate (publishers do not) and inflate every compressed
// delivery with zlib, as a browser would: one inflate context per subscriber when the server keeps
// its context (context takeover), reset after every message when it said server_no_context_takeover.
// Before publishing, a ping on every connection must come back as a pong: the server has then
// handled each connection's open (its subscribe) before the first publish.
// Measures, after a warm-up of WARMUP seconds, a window of SECONDS (each extended until at least
// PUBS x INFLIGHT messages have reached every subscriber and then to the next moment a message
// reaches its last subscriber, up to FANOUT_MAX_SECONDS, default 120):
// deliveries, publishes, deliveries per read of a subscriber socket (how many messages the server
// coalesced into what one read returns), publish->delivery latency (p50/p99, from the write of the publish to the
// read of the delivery), its own CPU, and with SERVER_PID the server's user+sys CPU over the same
// window (/proc/PID/stat, all threads).
// FANOUT_SOURCES=k spreads subscribers over source addresses 127.0.0.2 … 127.0.0.(k+1)
// (IP_BIND_ADDRESS_NO_PORT), should the ephemeral port range ever be short.
// Prints one JSON line. Exit 3: a subscriber's offer of permessage-deflate was declined.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAXPUB 64
#define RING 64 // slots per publisher for messages in flight (INFLIGHT <= RING)
#define BUFCAP (1 << 20)

typedef struct {
  int fd;
  uint8_t *rest; uint32_t rest_len, rest_cap; // bytes of an incomplete frame, kept between reads
  uint32_t expect[MAXPUB];                     // next sequence number from each publisher
  uint8_t no_ctx, pong;
#ifdef HAVE_ZLIB
  z_stream *z;
#endif
} sub_t;

typedef struct {
  int fd;
  uint32_t next_seq; int inflight;
  uint32_t remaining[RING]; double sent_at[RING]; // per message in flight: subscribers still to get it
  uint8_t *out; size_t out_len, out_cap;           // bytes the socket has not taken yet
  uint8_t rest[256]; uint32_t rest_len; uint8_t pong;
} pub_t;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void die(const char *m) { perror(m); exit(1); }
static void fail(const char *m) { fprintf(stderr, "%s\n", m); exit(1); }

// Latency histogram in µs: exact below 1024, then 512 buckets per power of two (0.2 % resolution).
#define HBUCKETS (1024 + 40 * 512)
static uint64_t hist[HBUCKETS];
static void hist_add(double seconds) {
  uint64_t v = seconds <= 0 ? 0 : (uint64_t)(seconds * 1e6);
  size_t i;
  if (v < 1024) i = v;
  else { int msb = 63 - __builtin_clzll(v), shift = msb - 9; i = 1024 + (size_t)(msb - 10) * 512 + ((v >> shift) - 512); }
  if (i >= HBUCKETS) i = HBUCKETS - 1;
  hist[i]++;
}
static double hist_value(size_t i) {
  if (i < 1024) return i + 0.5;
  size_t msb = 10 + (i - 1024) / 512, top = 512 + (i - 1024) % 512, shift = msb - 9;
  return ((double)(top << shift) + (double)(1ULL << shift) / 2);
}
static double hist_quantile(double q) {
  uint64_t n = 0, seen = 0;
  for (size_t i = 0; i < HBUCKETS; i++) n += hist[i];
  if (!n) return 0;
  uint64_t want = (uint64_t)(q * (double)(n - 1));
  for (size_t i = 0; i < HBUCKETS; i++) { seen += hist[i]; if (seen > want) return hist_value(i); }
  return 0;
}

static double cpu_self(void) {
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}
static long clk_tck;
static double cpu_of(int pid) { // utime + stime of every thread of pid, seconds
  if (pid <= 0) return 0;
  char path[64], buf[2048]; snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r"); if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f); fclose(f); buf[n] = 0;
  char *p = strrchr(buf, ')'); if (!p) return -1;
  unsigned long ut = 0, st = 0; // fields 14 and 15; p points at the end of field 2
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / clk_tck;
}

static int nsubs, npubs, inflight; static size_t size;
static uint8_t *tmpl; // the payload of every message, before its header and trailer are filled in
static sub_t *subs; static pub_t *pubs;
static int ep;
static long deliveries, publishes, compressed, inflated, completed, sub_reads;
static double last_progress;
static int measuring;
#ifdef HAVE_ZLIB
static z_stream zshared; static int zshared_init;
static uint8_t *zin, *zout; static size_t zin_cap;
#endif

static void put32(uint8_t *p, uint32_t v) { p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static void flush_pub(pub_t *k) {
  size_t off = 0;
  while (off < k->out_len) {
    ssize_t w = write(k->fd, k->out + off, k->out_len - off);
    if (w < 0) { if (errno == EAGAIN) break; die("write (publisher)"); }
    off += w;
  }
  memmove(k->out, k->out + off, k->out_len - off); k->out_len -= off;
  struct epoll_event ev = {.events = EPOLLIN | (k->out_len ? EPOLLOUT : 0), .data.u32 = (uint32_t)(nsubs + (k - pubs))};
  epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &ev);
}

static void queue_frame(pub_t *k, int opcode, const uint8_t *payload, size_t len) {
  size_t hl = len < 126 ? 2 : len < 65536 ? 4 : 10, flen = hl + 4 + len;
  if (k->out_len + flen > k->out_cap) { k->out_cap = (k->out_len + flen) * 2; k->out = realloc(k->out, k->out_cap); }
  uint8_t *f = k->out + k->out_len, key[4] = {0x12, 0x34, 0x56, 0x78};
  f[0] = 0x80 | opcode;
  if (hl == 2) f[1] = 0x80 | len;
  else if (hl == 4) { f[1] = 0x80 | 126; f[2] = len >> 8; f[3] = len; }
  else { f[1] = 0x80 | 127; for (int i = 0; i < 8; i++) f[2 + i] = (uint64_t)len >> (56 - 8 * i); }
  memcpy(f + hl, key, 4);
  for (size_t i = 0; i < len; i++) f[hl + 4 + i] = payload[i] ^ key[i & 3];
  k->out_len += flen;
}

static void fill_payload(uint8_t *p, int pub, uint32_t seq) {
  memcpy(p, tmpl, size);
  put32(p, seq); p[4] = pub;
  if (size >= 16) put32(p + size - 4, seq);
}

static void publish(pub_t *k, double t) {
  static uint8_t *payload; if (!payload) payload = malloc(size);
  int pub = k - pubs; uint32_t seq = k->next_seq++;
  fill_payload(payload, pub, seq);
  queue_frame(k, 2, payload, size);
  k->remaining[seq % RING] = nsubs; k->sent_at[seq % RING] = t; k->inflight++;
  publishes += measuring;
}

// A subscriber got message (pub, seq), already checked; count it, complete it when all have it.
static void delivered(int pub, uint32_t seq, double t) {
  pub_t *k = &pubs[pub];
  deliveries++; last_progress = t;
  if (measuring) hist_add(t - k->sent_at[seq % RING]);
  if (--k->remaining[seq % RING] == 0) { k->inflight--; completed++; }
}

// The next message from publisher pub on subscriber s must be seq.
static void take_delivery(sub_t *s, int pub, uint32_t seq, double t) {
  if (seq != s->expect[pub]) {
    fprintf(stderr, "subscriber %ld: from publisher %d got message %u, expected %u (%s)\n", (long)(s - subs), pub, seq, s->expect[pub], seq > s->expect[pub] ? "lost" : "repeated or reordered");
    exit(1);
  }
  s->expect[pub]++;
  delivered(pub, seq, t);
}

// A delivered payload: length, publisher, the filler byte for byte, the sequence number at both ends.
static void check_payload(sub_t *s, const uint8_t *p, size_t len, double t) {
  if (len != size) { fprintf(stderr, "delivery of %zu bytes, expected %zu\n", len, size); exit(1); }
  uint32_t seq = get32(p); int pub = p[4];
  if (pub >= npubs) { fprintf(stderr, "delivery names publisher %d\n", pub); exit(1); }
  if (memcmp(p + 5, tmpl + 5, (size >= 16 ? size - 4 : size) - 5) || (size >= 16 && get32(p + size - 4) != seq)) {
    fprintf(stderr, "subscriber %ld: message %u of publisher %d corrupted\n", (long)(s - subs), seq, pub); exit(1);
  }
  take_delivery(s, pub, seq, t);
}

#ifdef HAVE_ZLIB
// Without context takeover a compressed frame's decoding depends on its bytes alone, and a server
// that compresses a publish once sends every subscriber the same bytes: a frame byte-identical to
// one already inflated and checked is that same message, so it is not inflated again (its order on
// this subscriber is still checked). FANOUT_INFLATE_ALL=1 inflates every delivery regardless.
#define MEMO 1024
static struct { uint8_t *bytes; size_t len, cap; int pub; uint32_t seq; } memo[MEMO];
static int inflate_all;
static uint32_t memo_hash(const uint8_t *b, size_t n) {
  uint32_t h = 2166136261u ^ (uint32_t)n;
  for (size_t i = 0; i < n && i < 32; i++) h = (h ^ b[i]) * 16777619u;
  for (size_t i = n > 32 ? n - 32 : n; i < n; i++) h = (h ^ b[i]) * 16777619u;
  return h;
}
#endif

// Parses complete frames at buf[0..len); returns the bytes consumed.
static size_t parse_sub(sub_t *s, uint8_t *buf, size_t len, double t) {
  size_t p = 0;
  while (len - p >= 2) {
    uint8_t *f = buf + p; size_t plen = f[1] & 127, h = 2;
    if (f[1] & 0x80) fail("server sent a masked frame");
    if (plen == 126) { if (len - p < 4) break; plen = (f[2] << 8) | f[3]; h = 4; }
    else if (plen == 127) { if (len - p < 10) break; plen = 0; for (int i = 0; i < 8; i++) plen = plen << 8 | f[2 + i]; h = 10; }
    if (len - p < h + plen) { if (h + plen > BUFCAP / 2) fail("frame too large"); break; }
    int op = f[0] & 15, fin = f[0] & 0x80, rsv1 = f[0] & 0x40;
    if (op == 0xA) { s->pong = 1; }
    else if (op == 0x9) { /* a server's keepalive ping: none is sent within a run's seconds */ }
    else if (op == 0x8) { fprintf(stderr, "server closed subscriber %ld (code %d)\n", (long)(s - subs), plen >= 2 ? f[h] << 8 | f[h + 1] : 0); exit(1); }
    else if (op != 2 || !fin) { fprintf(stderr, "unexpected frame: opcode %d, fin %d\n", op, !!fin); exit(1); }
    else if (rsv1) {
#ifdef HAVE_ZLIB
      compressed += measuring;
      uint32_t mh = 0;
      if (s->no_ctx && !inflate_all) {
        mh = memo_hash(f + h, plen) % MEMO;
        if (memo[mh].len == plen && memcmp(memo[mh].bytes, f + h, plen) == 0) { take_delivery(s, memo[mh].pub, memo[mh].seq, t); p += h + plen; continue; }
      }
      inflated += measuring;
      z_stream *z = s->no_ctx ? &zshared : s->z;
      if (s->no_ctx && !zshared_init) { inflateInit2(&zshared, -15); zshared_init = 1; }
      if (!z) { z = s->z = calloc(1, sizeof(z_stream)); inflateInit2(z, -15); }
      if (plen + 4 > zin_cap) { zin_cap = (plen + 4) * 2; zin = realloc(zin, zin_cap); }
      memcpy(zin, f + h, plen); memcpy(zin + plen, "\0\0\xff\xff", 4);
      z->next_in = zin; z->avail_in = plen + 4; z->next_out = zout; z->avail_out = size + 1;
      int st = inflate(z, Z_SYNC_FLUSH);
      if ((st != Z_OK && st != Z_STREAM_END) || z->avail_in != 0) { fprintf(stderr, "inflate failed (%d)\n", st); exit(1); }
      size_t got = size + 1 - z->avail_out;
      if (s->no_ctx || st == Z_STREAM_END) inflateReset(z);
      check_payload(s, zout, got, t);
      if (s->no_ctx && !inflate_all) {
        if (memo[mh].cap < plen) { memo[mh].cap = plen * 2; memo[mh].bytes = realloc(memo[mh].bytes, memo[mh].cap); }
        memcpy(memo[mh].bytes, f + h, plen); memo[mh].len = plen; memo[mh].pub = zout[4]; memo[mh].seq = get32(zout);
      }
#else
      fail("compressed frame without zlib");
#endif
    } else check_payload(s, f + h, plen, t);
    p += h + plen;
  }
  return p;
}

static void read_sub(sub_t *s) {
  static uint8_t *buf; if (!buf) buf = malloc(BUFCAP);
  size_t len = s->rest_len;
  memcpy(buf, s->rest, len);
  ssize_t r = read(s->fd, buf + len, BUFCAP - len); // level-triggered: what is left comes back
  if (r == 0) { fprintf(stderr, "server closed subscriber %ld\n", (long)(s - subs)); exit(1); }
  if (r < 0) { if (errno == EAGAIN) return; die("read (subscriber)"); }
  len += r; sub_reads += measuring;
  size_t p = parse_sub(s, buf, len, now());
  s->rest_len = len - p;
  if (s->rest_len > s->rest_cap) { s->rest_cap = s->rest_len * 2; s->rest = realloc(s->rest, s->rest_cap); }
  memcpy(s->rest, buf + p, s->rest_len);
}

static void read_pub(pub_t *k) {
  uint8_t buf[4096];
  ssize_t r = read(k->fd, buf, sizeof buf);
  if (r == 0) fail("server closed a publisher");
  if (r < 0) { if (errno == EAGAIN) return; die("read (publisher)"); }
  if (k->rest_len + (size_t)r > sizeof k->rest) fail("publisher received data (the server must not send it messages)");
  memcpy(k->rest + k->rest_len, buf, r); k->rest_len += r;
  size_t p = 0;
  while (k->rest_len - p >= 2) {
    uint8_t *f = k->rest + p; size_t plen = f[1] & 127;
    if (plen >= 126 || k->rest_len - p < 2 + plen) break;
    int op = f[0] & 15;
    if (op == 0xA) k->pong = 1;
    else if (op != 0x9) { fprintf(stderr, "publisher %ld received a frame of opcode %d: the server must send messages to subscribers only\n", (long)(k - pubs), op); exit(1); }
    p += 2 + plen;
  }
  memmove(k->rest, k->rest + p, k->rest_len - p); k->rest_len -= p;
}

// Blocking handshake in batches; returns the fd (left non-blocking) and copies bytes after the 101.
static const char *host; static int port;
static struct sockaddr_in sa;
static int sources;
static char neg[256]; // the first subscriber's Sec-WebSocket-Extensions answer

static int open_conn(long c, int is_pub, int deflate) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  if (fd < 0) die("socket");
  if (sources > 0 && !is_pub) {
    struct sockaddr_in src = {.sin_family = AF_INET};
    char a[32]; snprintf(a, sizeof a, "127.0.0.%ld", 2 + c % sources);
    inet_pton(AF_INET, a, &src.sin_addr);
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) die("bind source address");
  }
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char req[512];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n", is_pub ? "/pub" : "/", host, port,
                   deflate ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "");
  if (write(fd, req, n) != n) die("write handshake");
  return fd;
}

// Reads the 101 on fd; returns the length of the header, with bytes after it left in resp.
static size_t read_101(int fd, char *resp, size_t cap, size_t *got) {
  *got = 0;
  while (!memmem(resp, *got, "\r\n\r\n", 4)) {
    ssize_t r = read(fd, resp + *got, cap - *got);
    if (r <= 0) die("handshake");
    *got += r;
  }
  if (strncmp(resp, "HTTP/1.1 101", 12)) { fprintf(stderr, "handshake refused: %.60s\n", resp); exit(1); }
  return (char *)memmem(resp, *got, "\r\n\r\n", 4) - resp + 4;
}

static void add_epoll(int fd, uint32_t id) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = id};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
}

static void send_ping(int fd) {
  static const uint8_t ping[] = {0x89, 0x84, 1, 2, 3, 4, 's' ^ 1, 'y' ^ 2, 'n' ^ 3, 'c' ^ 4};
  if (write(fd, ping, sizeof ping) != sizeof ping) die("write ping");
}

// Runs until done() says so; or, publishing, until the first batch of events in which a message
// reached its last subscriber once `until` has passed and at least `rounds` messages have done so
// since the call, so that a window starts and ends at a message's completion: a server that
// delivers in bursts (a turn that compresses a whole round of messages before writing any) is
// counted in whole bursts, not in whatever part of one a fixed window happens to cut. Never past `cap`.
static void run_loop(double until, int (*done)(void), long rounds, double cap) {
  struct epoll_event evs[512];
  double t;
  long c0 = completed;
  for (;;) {
    if (!done) { // keep every publisher's pipeline full: a completed message makes room for the next
      t = now();
      for (int i = 0; i < npubs; i++) {
        pub_t *k = &pubs[i]; int sent = 0;
        while (k->inflight < inflight) { publish(k, t); sent = 1; }
        if (sent) flush_pub(k);
      }
    }
    long before = completed;
    int n = epoll_wait(ep, evs, 512, 50);
    if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
    for (int e = 0; e < n; e++) {
      uint32_t id = evs[e].data.u32;
      if (id < (uint32_t)nsubs) read_sub(&subs[id]);
      else {
        pub_t *k = &pubs[id - nsubs];
        if (evs[e].events & EPOLLIN) read_pub(k);
        if (evs[e].events & EPOLLOUT) flush_pub(k);
      }
    }
    t = now();
    if (t >= cap) return;
    if (done) { if (done()) return; continue; }
    if (completed != before && t >= until && completed - c0 >= rounds) return;
    if (t - last_progress > 30) {
      fprintf(stderr, "stalled: no delivery for 30 s\n");
      for (int i = 0; i < npubs; i++) {
        pub_t *k = &pubs[i];
        for (uint32_t s = k->next_seq - k->inflight; s != k->next_seq; s++) fprintf(stderr, "  publisher %d message %u: %u subscribers still waiting\n", i, s, k->remaining[s % RING]);
      }
      exit(1);
    }
  }
}

static int all_ponged(void) {
  for (int i = 0; i < nsubs; i++) if (!subs[i].pong) return 0;
  for (int i = 0; i < npubs; i++) if (!pubs[i].pong) return 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 10 && argc != 11) { fprintf(stderr, "usage: fanout HOST PORT SUBS PUBS INFLIGHT SIZE plain|deflate WARMUP SECONDS [SERVER_PID]\n"); return 2; }
  host = argv[1]; port = atoi(argv[2]); nsubs = atoi(argv[3]); npubs = atoi(argv[4]); inflight = atoi(argv[5]);
  size = strtoul(argv[6], 0, 10);
  int deflate = strcmp(argv[7], "deflate") == 0;
  double warmup = atof(argv[8]), seconds = atof(argv[9]);
  int server_pid = argc == 11 ? atoi(argv[10]) : 0;
  sources = getenv("FANOUT_SOURCES") ? atoi(getenv("FANOUT_SOURCES")) : 0;
  double max_seconds = getenv("FANOUT_MAX_SECONDS") ? atof(getenv("FANOUT_MAX_SECONDS")) : 120;
#ifdef HAVE_ZLIB
  inflate_all = getenv("FANOUT_INFLATE_ALL") != 0;
#endif
  clk_tck = sysconf(_SC_CLK_TCK);
  if (npubs < 1 || npubs > MAXPUB || inflight < 1 || inflight > RING || size < 8 || nsubs < 1) fail("bad arguments (1..64 publishers, 1..64 in flight, size >= 8)");
#ifndef HAVE_ZLIB
  if (deflate) fail("built without zlib: no deflate mode");
#else
  zin_cap = size * 2 + 1024; zin = malloc(zin_cap); zout = malloc(size + 1);
#endif
  // JSON-like filler, compressible as real traffic is; bytes 0-4 and the last 4 carry the header.
  tmpl = malloc(size + 128);
  for (size_t n = 0, r = 0; n < size; r++)
    n += snprintf((char *)tmpl + n, size + 128 - n, "{\"id\":%zu,\"user\":\"user%zu\",\"action\":\"%s\",\"ts\":%zu,\"x\":%zu}\n", r, r % 97, r % 3 ? "update" : "create", 1732500000000UL + r * 37, r * r % 1000);
  sa.sin_family = AF_INET; sa.sin_port = htons(port); inet_pton(AF_INET, host, &sa.sin_addr);
  ep = epoll_create1(0);
  subs = calloc(nsubs, sizeof(sub_t)); pubs = calloc(npubs, sizeof(pub_t));

  // Handshakes, 128 at a time (within every server's listen backlog), subscribers first.
  double th0 = now();
  int total = nsubs + npubs, *fds = malloc(total * sizeof(int));
  char resp[8192];
  for (int b = 0; b < total; b += 128) {
    int e = b + 128 < total ? b + 128 : total;
    for (int c = b; c < e; c++) fds[c] = open_conn(c, c >= nsubs, deflate && c < nsubs);
    for (int c = b; c < e; c++) {
      size_t got, head = read_101(fds[c], resp, sizeof resp, &got);
      if (c < nsubs) {
        sub_t *s = &subs[c]; s->fd = fds[c];
        if (deflate) {
          char *x = memmem(resp, head, "permessage-deflate", 18);
          if (!x) { fprintf(stderr, "server declined permessage-deflate\n"); return 3; }
          s->no_ctx = memmem(resp, head, "server_no_context_takeover", 26) != 0;
          if (c == 0) { char *eol = memmem(x, head - (x - resp), "\r\n", 2); snprintf(neg, sizeof neg, "%.*s", (int)(eol - x), x); }
        }
        s->rest_len = got - head; s->rest_cap = s->rest_len + 64; s->rest = malloc(s->rest_cap);
        memcpy(s->rest, resp + head, s->rest_len);
        add_epoll(s->fd, c);
      } else {
        pub_t *k = &pubs[c - nsubs]; k->fd = fds[c];
        if (got - head > sizeof k->rest) fail("publisher received data");
        memcpy(k->rest, resp + head, got - head); k->rest_len = got - head;
        add_epoll(k->fd, c);
      }
    }
  }
  double handshake_s = now() - th0;
  // Every connection answers a ping: the server has handled each one's open (and subscribe).
  for (int i = 0; i < nsubs; i++) send_ping(subs[i].fd);
  for (int i = 0; i < npubs; i++) send_ping(pubs[i].fd);
  run_loop(0, all_ponged, 0, now() + 30);
  if (!all_ponged()) fail("not every connection answered a ping within 30 s");

  // Warm-up, then the measured window: each lasts its seconds and at least one full round of the
  // pipelines (PUBS x INFLIGHT messages reaching every subscriber), so per-subscriber state a
  // server sets up on first use (a deflate context) is set up before measuring; each ends at a
  // message's completion (run_loop). Neither goes past FANOUT_MAX_SECONDS.
  double tw = now();
  last_progress = tw;
  long round = (long)npubs * inflight;
  run_loop(tw + warmup, 0, round, tw + max_seconds);
  if (completed < round) { fprintf(stderr, "warm-up: the first %ld messages did not reach every subscriber within %.0f s\n", round, max_seconds); return 1; }
  double warm_s = now() - tw;
  measuring = 1; deliveries = 0; publishes = 0; compressed = 0; inflated = 0; sub_reads = 0;
  long completed0 = completed;
  double c0 = cpu_self(), s0 = cpu_of(server_pid), t0 = now();
  run_loop(t0 + seconds, 0, round, t0 + max_seconds);
  double elapsed = now() - t0, s1 = cpu_of(server_pid), cpu = cpu_self() - c0;
  long in_flight_deliveries = 0;
  for (int i = 0; i < npubs; i++) for (uint32_t s = pubs[i].next_seq - pubs[i].inflight; s != pubs[i].next_seq; s++) in_flight_deliveries += nsubs - pubs[i].remaining[s % RING];
  printf("{\"subscribers\":%d,\"publishers\":%d,\"inflight\":%d,\"size\":%zu,\"mode\":\"%s\",\"deliveries\":%ld,\"publishes\":%ld,\"seconds\":%.3f,"
         "\"deliveriesPerSec\":%.0f,\"mbPerSec\":%.2f,\"p50us\":%.1f,\"p99us\":%.1f,\"loadgenCpuSeconds\":%.3f,\"serverCpuSeconds\":%.3f,"
         "\"compressedShare\":%.3f,\"inflatedShare\":%.3f,\"messagesCompleted\":%ld,\"deliveriesPerRead\":%.2f,\"handshakeSeconds\":%.3f,\"warmupSeconds\":%.3f,\"partialDeliveriesAtEnd\":%ld,\"negotiated\":\"%s\"}\n",
         nsubs, npubs, inflight, size, deflate ? "deflate" : "plain", deliveries, publishes, elapsed, deliveries / elapsed, deliveries * (double)size / elapsed / 1e6,
         hist_quantile(0.5), hist_quantile(0.99), cpu, server_pid ? s1 - s0 : -1, deliveries ? (double)compressed / deliveries : 0, compressed ? (double)inflated / compressed : 0, completed - completed0, sub_reads ? (double)deliveries / sub_reads : 0, handshake_s, warm_s, in_flight_deliveries, neg);
  return 0;
}
