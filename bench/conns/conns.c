// Many-connections generator for `npm run bench:conns`: opens N WebSocket connections to one server
// from several loopback source addresses (each has its own ephemeral ports), keeps them open with one
// ping per connection every PING seconds (spread evenly), and on command runs a few of them as active
// echo connections (32 B text, paced) or closes them all. Single-threaded epoll, a few dozen bytes
// of state per idle connection.
//   conns HOST PORT N ACTIVE SRC_PREFIX SRC_COUNT PING_SECONDS MAX_SECONDS
// Source addresses are SRC_PREFIX.2 … SRC_PREFIX.(SRC_COUNT+1) (e.g. 127.0.1 → 127.0.1.2, …).
// After opening it prints {"opened","failed","seconds","handshakesPerSec"} and then reads commands
// on stdin, one per line, answering each with one JSON line:
//   idle S      wait S seconds (pings go on): {"pingsSent","pongs" in the window, "pingsTotal","pongsTotal","open"}
//   echo S MS   each active connection sends 32 B every MS ms, one in flight: {"echoes","p50us","p99us","maxus","bad"}
//   close       close handshake on every connection: {"closed","seconds","unanswered"}
// It exits on EOF, on "exit", or MAX_SECONDS after it started, whichever comes first.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
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

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { CONNECTING, HANDSHAKE, OPEN, CLOSING, DONE, FAILED };

typedef struct {
  int fd;
  uint8_t state, blen;
  uint8_t buf[46];        // bytes of a server frame not complete yet (our frames back are ≤ 34 B)
  char *hs; uint16_t hslen; // the 101 response while it arrives (freed once open)
  double sent_at;         // active connections: when the echo in flight left
} conn_t;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static void die(const char *m) { perror(m); exit(1); }

static conn_t *cs; static int n, ep;
static const char *host; static int port; static char src_prefix[32]; static int src_count;
static char request[512]; static int request_len;
static long pings_sent, pongs, echoes, bad, closed_count, open_count, failed;
static double *rtts; static long nrtt, rtt_cap;
static uint8_t ping_frame[6] = {0x89, 0x80, 1, 2, 3, 4};
static uint8_t close_frame[8] = {0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2};
static uint8_t echo_frame[38];

static void send_all(conn_t *c, const uint8_t *b, size_t len) {
  // Frames are tiny and the socket buffer mostly empty: a short write is a failure here.
  ssize_t w = write(c->fd, b, len);
  if (w != (ssize_t)len) bad++;
}

static void start_connect(int i) {
  conn_t *c = &cs[i];
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = 0};
  char ip[48]; snprintf(ip, sizeof ip, "%s.%d", src_prefix, 2 + i % src_count);
  inet_pton(AF_INET, ip, &src.sin_addr);
  if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) die("bind");
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &dst.sin_addr);
  if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) die("connect");
  c->fd = fd; c->state = CONNECTING; c->blen = 0;
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = i};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void fail(conn_t *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  if (c->state == OPEN || c->state == CLOSING) open_count--;
  c->state = FAILED;
  free(c->hs); c->hs = 0;
  failed++;
}

/** Frames the server sent on an open connection: pongs, echoes, the close reply. */
static void on_frames(int i, uint8_t *p, size_t len) {
  conn_t *c = &cs[i];
  uint8_t tmp[64 + 4096]; // leftover + this read
  if (c->blen) {
    if (len > 4096) { bad++; fail(c); return; }
    memcpy(tmp, c->buf, c->blen); memcpy(tmp + c->blen, p, len);
    p = tmp; len += c->blen; c->blen = 0;
  }
  size_t off = 0;
  while (len - off >= 2) {
    uint8_t op = p[off] & 15; size_t plen = p[off + 1] & 127;
    if (plen >= 126 || (p[off + 1] & 0x80)) { bad++; fail(c); return; }
    if (len - off < 2 + plen) break;
    if (op == 10) pongs++;
    else if (op == 1) {
      if (plen != 32 || memcmp(p + off + 2, "abcdefghijklmnopqrstuvwxyzabcdef", 32) != 0) bad++;
      if (c->sent_at > 0) {
        if (nrtt == rtt_cap) rtts = realloc(rtts, (rtt_cap = rtt_cap * 2 + 1024) * sizeof *rtts);
        rtts[nrtt++] = now() - c->sent_at;
        echoes++;
        c->sent_at = 0;
      }
    } else if (op == 8) {
      if (c->state == OPEN) { send_all(c, close_frame, sizeof close_frame); }
      close(c->fd); c->fd = -1; c->state = DONE; open_count--; closed_count++;
      return;
    } else bad++;
    off += 2 + plen;
  }
  if (len - off > sizeof c->buf) { bad++; fail(c); return; }
  memcpy(c->buf, p + off, len - off); c->blen = len - off;
}

static void on_event(int i, uint32_t events) {
  conn_t *c = &cs[i];
  if (c->fd < 0) return;
  if (c->state == CONNECTING) {
    if (events & (EPOLLERR | EPOLLHUP)) { fail(c); return; }
    if (events & EPOLLOUT) {
      if (write(c->fd, request, request_len) != request_len) { fail(c); return; }
      c->state = HANDSHAKE;
      c->hs = malloc(1024); c->hslen = 0;
      struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
      epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
    return;
  }
  uint8_t b[4096];
  ssize_t r = read(c->fd, b, sizeof b);
  if (r == 0 || (r < 0 && errno != EAGAIN)) {
    if (c->state == CLOSING || c->state == OPEN) { // ended after (or without) the close reply
      close(c->fd); c->fd = -1;
      if (c->state == CLOSING) { c->state = DONE; open_count--; closed_count++; }
      else fail(c);
    } else fail(c);
    return;
  }
  if (r < 0) return;
  if (c->state == HANDSHAKE) {
    if (c->hslen + r > 1023) { fail(c); return; }
    memcpy(c->hs + c->hslen, b, r); c->hslen += r; c->hs[c->hslen] = 0;
    char *end = strstr(c->hs, "\r\n\r\n");
    if (!end) return;
    if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0) { fail(c); return; }
    size_t rest = c->hslen - (end + 4 - c->hs);
    uint8_t extra[1024]; memcpy(extra, end + 4, rest);
    free(c->hs); c->hs = 0;
    c->state = OPEN; open_count++;
    if (rest) on_frames(i, extra, rest);
    return;
  }
  on_frames(i, b, r);
}

static void poll_once(int ms) {
  struct epoll_event evs[512];
  int k = epoll_wait(ep, evs, 512, ms);
  for (int j = 0; j < k; j++) {
    if (evs[j].data.u32 == 0xffffffffu) continue; // stdin, read by the caller
    on_event(evs[j].data.u32, evs[j].events);
  }
}

int main(int argc, char **argv) {
  if (argc != 9) { fprintf(stderr, "usage: conns HOST PORT N ACTIVE SRC_PREFIX SRC_COUNT PING_SECONDS MAX_SECONDS\n"); return 2; }
  host = argv[1]; port = atoi(argv[2]); n = atoi(argv[3]); int active = atoi(argv[4]);
  snprintf(src_prefix, sizeof src_prefix, "%s", argv[5]); src_count = atoi(argv[6]);
  double ping_every = atof(argv[7]), deadline = now() + atof(argv[8]);
  struct rlimit rl; getrlimit(RLIMIT_NOFILE, &rl); rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl);
  if ((rlim_t)n + 16 > rl.rlim_cur) { fprintf(stderr, "%d connections need more open files than %ld\n", n, (long)rl.rlim_cur); return 2; }
  request_len = snprintf(request, sizeof request,
    "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host, port);
  uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  echo_frame[0] = 0x81; echo_frame[1] = 0x80 | 32; memcpy(echo_frame + 2, key, 4);
  for (int i = 0; i < 32; i++) echo_frame[6 + i] = ("abcdefghijklmnopqrstuvwxyz")[i % 26] ^ key[i & 3];
  cs = calloc(n, sizeof *cs);
  ep = epoll_create1(0);
  struct epoll_event sev = {.events = EPOLLIN, .data.u32 = 0xffffffffu};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev);

  // Open: at most 256 handshakes under way at once.
  double t0 = now();
  int next = 0;
  while (open_count + failed < n && now() < deadline) {
    int underway = next - (int)(open_count + failed + closed_count);
    while (next < n && underway < 256) { start_connect(next++); underway++; }
    poll_once(100);
  }
  double opened_in = now() - t0;
  printf("{\"opened\":%ld,\"failed\":%ld,\"seconds\":%.3f,\"handshakesPerSec\":%.1f}\n", open_count, failed, opened_in, open_count / opened_in);
  fflush(stdout);

  // Hold: pings spread evenly over the period; commands from stdin.
  double ping_t0 = now(); long ping_k = 0; // ping number k goes to connection k % n at ping_t0 + k * period / n
  double echo_until = 0, echo_ms = 0; int closing = 0; double close_t0 = 0;
  char line[256]; size_t llen = 0;
  for (;;) {
    double t = now();
    if (t >= deadline) { fprintf(stderr, "conns: MAX_SECONDS reached\n"); return 1; }
    while (ping_t0 + ping_k * ping_every / n <= t) {
      conn_t *c = &cs[ping_k % n];
      if (c->state == OPEN && !closing) { send_all(c, ping_frame, sizeof ping_frame); pings_sent++; }
      ping_k++;
    }
    if (echo_until > 0) {
      // Paced: each active connection's next send is due MS ms after its previous one left.
      static double *due; if (!due) due = calloc(active > 0 ? active : 1, sizeof *due);
      for (int i = 0; i < active && i < n; i++) {
        conn_t *c = &cs[i];
        if (c->state != OPEN || c->sent_at > 0 || t < due[i]) continue;
        c->sent_at = t; due[i] = t + echo_ms / 1000;
        send_all(c, echo_frame, sizeof echo_frame);
      }
      if (t >= echo_until) {
        int pending = 0;
        for (int i = 0; i < active && i < n; i++) pending |= cs[i].sent_at > 0;
        if (!pending || t >= echo_until + 5) {
          qsort(rtts, nrtt, sizeof *rtts, cmp);
          double p50 = nrtt ? rtts[nrtt / 2] : 0, p99 = nrtt ? rtts[(long)(nrtt * 0.99)] : 0, mx = nrtt ? rtts[nrtt - 1] : 0;
          printf("{\"echoes\":%ld,\"p50us\":%.1f,\"p99us\":%.1f,\"maxus\":%.1f,\"bad\":%ld,\"unanswered\":%d}\n", echoes, p50 * 1e6, p99 * 1e6, mx * 1e6, bad, pending);
          fflush(stdout);
          echo_until = 0; nrtt = 0; echoes = 0;
          for (int i = 0; i < active && i < n; i++) cs[i].sent_at = 0;
          free(due); due = 0;
        }
      }
    }
    if (closing && (open_count == 0 || t >= close_t0 + 60)) {
      printf("{\"closed\":%ld,\"seconds\":%.3f,\"unanswered\":%ld,\"failed\":%ld}\n", closed_count, t - close_t0, open_count, failed);
      fflush(stdout);
      closing = 0;
    }
    double wait = ping_t0 + ping_k * ping_every / n - t;
    int ms = echo_until > 0 ? 1 : wait > 0.1 ? 100 : (int)(wait * 1000) + 1;
    struct epoll_event evs[512];
    int k = epoll_wait(ep, evs, 512, ms);
    for (int j = 0; j < k; j++) {
      if (evs[j].data.u32 != 0xffffffffu) { on_event(evs[j].data.u32, evs[j].events); continue; }
      ssize_t r = read(0, line + llen, sizeof line - 1 - llen);
      if (r <= 0) return 0; // the harness went away
      llen += r; line[llen] = 0;
      char *nl;
      while ((nl = strchr(line, '\n'))) {
        *nl = 0;
        double a = 0, b = 0;
        if (sscanf(line, "idle %lf", &a) == 1) {
          double until = now() + a;
          long p0 = pings_sent, q0 = pongs;
          while (now() < until && now() < deadline) {
            double tt = now();
            while (ping_t0 + ping_k * ping_every / n <= tt) {
              conn_t *c = &cs[ping_k % n];
              if (c->state == OPEN) { send_all(c, ping_frame, sizeof ping_frame); pings_sent++; }
              ping_k++;
            }
            poll_once(50);
          }
          printf("{\"pingsSent\":%ld,\"pongs\":%ld,\"pingsTotal\":%ld,\"pongsTotal\":%ld,\"open\":%ld,\"failed\":%ld,\"bad\":%ld}\n", pings_sent - p0, pongs - q0, pings_sent, pongs, open_count, failed, bad);
          fflush(stdout);
        } else if (sscanf(line, "echo %lf %lf", &a, &b) == 2) {
          echo_until = now() + a; echo_ms = b; nrtt = 0; echoes = 0;
        } else if (strcmp(line, "close") == 0) {
          closing = 1; close_t0 = now();
          for (int i = 0; i < n; i++)
            if (cs[i].state == OPEN) { send_all(&cs[i], close_frame, sizeof close_frame); cs[i].state = CLOSING; }
        } else if (strcmp(line, "exit") == 0) return 0;
        size_t used = nl + 1 - line;
        memmove(line, nl + 1, llen - used + 1); llen -= used;
      }
    }
  }
}
