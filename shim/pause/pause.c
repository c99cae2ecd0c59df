// berth-pause: PID 1 of a pod's infra container, which holds the pod's network, IPC, UTS and PID
// namespaces while the pod's containers come and go. It does nothing but reap the orphans that a
// shared PID namespace hands it, and it ends on SIGINT or SIGTERM.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void end(int signal_number) {
    (void)signal_number;
    _exit(0);
}

static void reap(int signal_number) {
    (void)signal_number;
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

int main(void) {
    struct sigaction ending = {.sa_handler = end};
    sigaction(SIGINT, &ending, NULL);
    sigaction(SIGTERM, &ending, NULL);
    struct sigaction reaping = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
    sigaction(SIGCHLD, &reaping, NULL);
    for (;;) pause();
}
