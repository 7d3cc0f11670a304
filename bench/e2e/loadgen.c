// WebSocket echo load generator: N connections, K messages in flight on each, every echo checked
// byte for byte. Single-threaded epoll, precomputed masked frames, so it stays cheap per message.
//   loadgen HOST PORT CONNS INFLIGHT SIZE text|binary|json-deflate SECONDS
// Prints one JSON line: messages, msgs/s, payload MB/s, RTT p50/p99 (µs), its own CPU seconds.
// json-deflate: JSON text with permessage-deflate (built with -DHAVE_ZLIB -lz). The generator
// compresses each message on its own (RFC 7692 lets a client skip context takeover without saying
// so), so one precomputed frame serves every send; it inflates every echo with the server's context,
// as a browser would. Exits 3 if the server declines the extension.
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

typedef struct {
  int fd;
  uint8_t *out; size_t out_len, out_off;   // bytes waiting to be written
  uint8_t *in; size_t in_len, in_cap;      // bytes received, not yet parsed
  double *sent_at; int head, tail, inflight; // send times of the messages in flight (FIFO)
} conn_t;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static void die(const char *m) { perror(m); exit(1); }

int main(int argc, char **argv) {
  if (argc != 8) { fprintf(stderr, "usage: loadgen HOST PORT CONNS INFLIGHT SIZE text|binary|json-deflate SECONDS\n"); return 2; }
  const char *host = argv[1]; int port = atoi(argv[2]), nconn = atoi(argv[3]), inflight = atoi(argv[4]);
  size_t size = strtoul(argv[5], 0, 10); double seconds = atof(argv[7]);
  int compress = strcmp(argv[6], "json-deflate") == 0, text = compress || strcmp(argv[6], "text") == 0;
#ifndef HAVE_ZLIB
  if (compress) { fprintf(stderr, "built without zlib: no json-deflate workload\n"); return 2; }
#endif
  uint8_t *payload = malloc(size + 64);
  if (compress) { // JSON records, compressible as real traffic is (about 10:1 at zlib level 1)
    size_t n = 0;
    for (int r = 0; n < size; r++)
      n += snprintf((char *)payload + n, size + 64 - n, "{\"id\":%d,\"user\":\"user%d\",\"action\":\"%s\",\"ts\":%ld,\"tags\":[\"a\",\"bb\"],\"x\":%d}\n",
                    r, r % 97, r % 3 ? "update" : "create", 1732500000000L + r * 37, r * r % 1000);
  } else
    for (size_t i = 0; i < size; i++) payload[i] = text ? 'a' + i % 26 : (uint8_t)(i * 131 + 7);
  // What goes on the wire: the payload, or its raw deflate stream without the 00 00 ff ff tail.
  uint8_t *wire = payload; size_t wlen = size;
#ifdef HAVE_ZLIB
  if (compress) { // compressed once, sent every time
    z_stream d = {0};
    deflateInit2(&d, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    wire = malloc(deflateBound(&d, size) + 16);
    d.next_in = payload; d.avail_in = size; d.next_out = wire; d.avail_out = deflateBound(&d, size) + 16;
    deflate(&d, Z_SYNC_FLUSH);
    wlen = d.total_out - 4; // drop 00 00 ff ff (RFC 7692 §7.2.1)
    deflateEnd(&d);
  }
#endif
  // One masked frame, reused: the server sees a fixed key, which it cannot tell from a random one.
  uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  size_t hl = wlen < 126 ? 2 : wlen < 65536 ? 4 : 10, flen = hl + 4 + wlen;
  uint8_t *frame = malloc(flen);
  frame[0] = 0x80 | (compress ? 0x40 : 0) | (text ? 1 : 2);
  if (hl == 2) frame[1] = 0x80 | wlen;
  else if (hl == 4) { frame[1] = 0x80 | 126; frame[2] = wlen >> 8; frame[3] = wlen; }
  else { frame[1] = 0x80 | 127; for (int i = 0; i < 8; i++) frame[2 + i] = (uint64_t)wlen >> (56 - 8 * i); }
  memcpy(frame + hl, key, 4);
  for (size_t i = 0; i < wlen; i++) frame[hl + 4 + i] = wire[i] ^ key[i & 3];
#ifdef HAVE_ZLIB
  z_stream *zs = compress ? calloc(nconn, sizeof(z_stream)) : 0;
  size_t zin_cap = size + size / 8 + 1024; // a compressed echo is never much larger than the text
  uint8_t *zin = compress ? malloc(zin_cap) : 0, *zout = compress ? malloc(size + 1) : 0;
  int server_no_context = 0;
#endif

  int ep = epoll_create1(0);
  conn_t *cs = calloc(nconn, sizeof(conn_t));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &sa.sin_addr);
  for (int c = 0; c < nconn; c++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char req[512];
    int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n", host, port,
                     compress ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "");
    if (write(fd, req, n) != n) die("write handshake");
    char resp[4096]; size_t got = 0;
    while (!memmem(resp, got, "\r\n\r\n", 4)) { ssize_t r = read(fd, resp + got, sizeof resp - got); if (r <= 0) die("handshake"); got += r; }
    if (strncmp(resp, "HTTP/1.1 101", 12)) { fprintf(stderr, "handshake refused: %.40s\n", resp); return 1; }
    size_t head = (char *)memmem(resp, got, "\r\n\r\n", 4) - resp + 4;
#ifdef HAVE_ZLIB
    if (compress) {
      if (!memmem(resp, head, "permessage-deflate", 18)) { fprintf(stderr, "server declined permessage-deflate\n"); return 3; }
      server_no_context = memmem(resp, head, "server_no_context_takeover", 26) != 0;
      inflateInit2(&zs[c], -15);
    }
#endif
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    conn_t *k = &cs[c];
    k->fd = fd; k->in_cap = flen * (inflight + 2) + 65536; k->in = malloc(k->in_cap);
    memcpy(k->in, resp + head, got - head); k->in_len = got - head;
    k->out = malloc(flen * inflight); k->sent_at = calloc(inflight, sizeof(double));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  if (inflight == 0) { // idle mode: hold the connections open, for memory measurements
    printf("{\"idleConnections\":%d}\n", nconn);
    fflush(stdout);
    struct timespec hold = {(time_t)seconds, 0};
    nanosleep(&hold, 0);
    return 0;
  }
  size_t cap = 4000000, nsamples = 0; double *rtt = malloc(cap * sizeof(double));
  long msgs = 0, compressed_echoes = 0; double t0 = now(), end = t0 + seconds, t;
  for (int c = 0; c < nconn; c++) { // fill every pipeline
    conn_t *k = &cs[c];
    for (int i = 0; i < inflight; i++) { memcpy(k->out + k->out_len, frame, flen); k->out_len += flen; k->sent_at[k->tail] = t0; k->tail = (k->tail + 1) % inflight; }
    k->inflight = inflight;
  }
  struct epoll_event evs[256];
  while ((t = now()) < end) {
    int n = epoll_wait(ep, evs, 256, 100);
    for (int e = 0; e < n; e++) {
      conn_t *k = &cs[evs[e].data.u32];
      for (;;) { // read and check every complete echo
        if (k->in_cap - k->in_len < 65536) { k->in_cap *= 2; k->in = realloc(k->in, k->in_cap); }
        ssize_t r = read(k->fd, k->in + k->in_len, k->in_cap - k->in_len);
        if (r == 0) { fprintf(stderr, "server closed a connection\n"); return 1; }
        if (r < 0) { if (errno == EAGAIN) break; die("read"); }
        k->in_len += r;
      }
      size_t p = 0; double tn = now();
      while (k->in_len - p >= 2) {
        uint8_t *f = k->in + p; size_t len = f[1] & 127, h = 2;
        int masked = f[1] & 0x80; // only a raw TCP echo (the ceiling) sends our masked frames back
        if (len == 126) { if (k->in_len - p < 4) break; len = (f[2] << 8) | f[3]; h = 4; }
        else if (len == 127) { if (k->in_len - p < 10) break; len = 0; for (int i = 0; i < 8; i++) len = len << 8 | f[2 + i]; h = 10; }
        if (masked) h += 4;
        if (k->in_len - p < h + len) break;
        int compressed = (f[0] & 0x40) != 0, bad = (f[0] & 0x0f) != (text ? 1 : 2);
        compressed_echoes += compressed;
        if (!bad && masked) { // a raw TCP echo returns our own frame
          bad = len != wlen;
          for (size_t i = 0; i < wlen && !bad; i++) bad = (f[h + i] ^ f[h - 4 + (i & 3)]) != wire[i];
        } else if (!bad && compressed) {
#ifdef HAVE_ZLIB
          z_stream *z = &zs[evs[e].data.u32];
          if (len + 4 > zin_cap) { fprintf(stderr, "compressed echo of %zu bytes\n", len); return 1; }
          memcpy(zin, f + h, len); memcpy(zin + len, "\0\0\xff\xff", 4);
          z->next_in = zin; z->avail_in = len + 4; z->next_out = zout; z->avail_out = size + 1;
          int st = inflate(z, Z_SYNC_FLUSH);
          bad = (st != Z_OK && st != Z_STREAM_END) || z->avail_in != 0 || size + 1 - z->avail_out != size || memcmp(zout, payload, size) != 0;
          if (server_no_context || st == Z_STREAM_END) inflateReset(z);
#else
          bad = 1;
#endif
        } else if (!bad) bad = len != size || memcmp(f + h, payload, size) != 0;
        if (bad) { fprintf(stderr, "bad echo (opcode %d, %zu bytes)\n", f[0] & 15, len); return 1; }
        p += h + len; msgs++;
        if (nsamples < cap) rtt[nsamples++] = tn - k->sent_at[k->head];
        k->head = (k->head + 1) % inflight; k->inflight--;
        memcpy(k->out + k->out_len, frame, flen); k->out_len += flen; // keep the pipeline full
        k->sent_at[k->tail] = tn; k->tail = (k->tail + 1) % inflight; k->inflight++;
      }
      memmove(k->in, k->in + p, k->in_len - p); k->in_len -= p;
      while (k->out_off < k->out_len) { // write what we owe
        ssize_t w = write(k->fd, k->out + k->out_off, k->out_len - k->out_off);
        if (w < 0) { if (errno == EAGAIN) break; die("write"); }
        k->out_off += w;
      }
      if (k->out_off == k->out_len) k->out_off = k->out_len = 0;
      else { memmove(k->out, k->out + k->out_off, k->out_len - k->out_off); k->out_len -= k->out_off; k->out_off = 0; }
    }
  }
  double elapsed = now() - t0;
  qsort(rtt, nsamples, sizeof(double), cmp);
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("{\"messages\":%ld,\"seconds\":%.3f,\"msgsPerSec\":%.0f,\"mbPerSec\":%.2f,\"p50us\":%.1f,\"p99us\":%.1f,\"loadgenCpuSeconds\":%.3f,\"compressedShare\":%.3f}\n",
         msgs, elapsed, msgs / elapsed, msgs * (double)size / elapsed / 1e6,
         nsamples ? rtt[nsamples / 2] * 1e6 : 0, nsamples ? rtt[(size_t)(nsamples * 0.99)] * 1e6 : 0, cpu, msgs ? (double)compressed_echoes / msgs : 0);
  return 0;
}
