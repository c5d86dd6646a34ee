// cnet accepts one client on the preopened listener at fd 4 with
// wasi-libc's accept (sock_accept), after wasi-libc's preopen scan has
// found the directory at fd 3 and stopped at the listener (EBADF): it
// answers the client's line with the content of /greeting.txt.
//
// Built by TestCWasip1Listener: clang --target=wasm32-wasi -O2 -o m.wasm main.c
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  char greeting[64] = {0}, line[64] = {0};
  FILE *f = fopen("/greeting.txt", "r");
  if (f == NULL || fgets(greeting, sizeof greeting, f) == NULL) {
    perror("greeting");
    return 2;
  }
  struct stat st;
  if (fstat(4, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    fprintf(stderr, "fd 4 is not a socket\n");
    return 3;
  }
  int c = accept(4, NULL, NULL);
  if (c < 0) {
    perror("accept");
    return 4;
  }
  ssize_t n = recv(c, line, sizeof line - 1, 0);
  if (n <= 0) {
    perror("recv");
    return 5;
  }
  if (send(c, greeting, strlen(greeting), 0) < 0 || write(c, line, n) != n) {
    perror("send");
    return 6;
  }
  if (shutdown(c, SHUT_RDWR) != 0) {
    perror("shutdown");
    return 7;
  }
  close(c);
  printf("served\n");
  return 0;
}
