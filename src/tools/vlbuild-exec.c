/* vlbuild-exec - the wrapper every child process of vlbuild starts through:
 *
 *   vlbuild-exec PROGRAM ARGS...
 *
 * asks the kernel to kill it if its parent (vlbuild) dies, even by SIGKILL,
 * then becomes PROGRAM (/bin/sh).  So an interrupted or killed build leaves
 * no shell writing outputs behind a later build's back.  It is a program of
 * its own, linked with nothing but libc, because starting the vlbuild binary
 * itself (FFmpeg, OpenBLAS) for every action costs a hundred milliseconds. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: vlbuild-exec PROGRAM ARGS... (started by vlbuild)\n", stderr);
        return 2;
    }
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) return 137; /* the parent died before the death signal was set */
    signal(SIGPIPE, SIG_DFL);
    execv(argv[1], argv + 1);
    fprintf(stderr, "vlbuild-exec: cannot run %s: %s\n", argv[1], strerror(errno));
    return 127;
}
