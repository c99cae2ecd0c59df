// --init's PID 1: the container's init stays as a reaper and runs the command as its child.
// Shared by berth-shim's container init and the guest agent (vm-images/agent/agent.h), which
// confine containers the same way.
#ifndef BERTH_INIT_REAPER_H
#define BERTH_INIT_REAPER_H

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

// A function's static, not a file's: the agent's Swift emits only the functions it calls from here.
static inline pid_t *init_reaper_child(void) {
    static pid_t child;
    return &child;
}

static void init_reaper_forward(int sig) {
    if (*init_reaper_child() > 0) kill(*init_reaper_child(), sig);
}

// In the parent of `child` (already confined like the command): reaps orphans, passes signals on
// and exits with the command's status. The caller has closed what the command alone may hold.
__attribute__((noreturn)) static inline void init_reaper_serve(pid_t child) {
    *init_reaper_child() = child;
    prctl(PR_SET_NAME, "init", 0, 0, 0);
    struct sigaction action = {.sa_handler = init_reaper_forward};
    sigemptyset(&action.sa_mask);
    static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM};
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaction(forwarded[i], &action, NULL);
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0 && errno == EINTR) continue;
        if (pid < 0) _exit(0);
        if (pid != child) continue;
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
}

#endif
