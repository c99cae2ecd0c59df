#include "sync_channel.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

int sync_send(int fd, char kind, const char *text, int passed_fd) {
    char message[4096];
    size_t length = 1;
    message[0] = kind;
    if (text) {
        size_t text_length = strnlen(text, sizeof message - 1);
        memcpy(message + 1, text, text_length);
        length += text_length;
    }
    struct iovec iov = {message, length};
    struct msghdr header = {.msg_iov = &iov, .msg_iovlen = 1};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    if (passed_fd >= 0) {
        header.msg_control = control.buffer;
        header.msg_controllen = sizeof control.buffer;
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&header);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &passed_fd, sizeof(int));
    }
    ssize_t sent;
    do sent = sendmsg(fd, &header, MSG_NOSIGNAL); while (sent < 0 && errno == EINTR);
    return sent < 0 ? -1 : 0;
}

int sync_receive(int fd, char *text, size_t text_size, int *passed_fd) {
    char message[4096];
    struct iovec iov = {message, sizeof message};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr header = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buffer,
                            .msg_controllen = sizeof control.buffer};
    ssize_t received;
    do received = recvmsg(fd, &header, MSG_CMSG_CLOEXEC); while (received < 0 && errno == EINTR);
    if (passed_fd) *passed_fd = -1;
    if (received <= 0) return 0;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&header);
    if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS && passed_fd)
        memcpy(passed_fd, CMSG_DATA(cmsg), sizeof(int));
    if (text && text_size) {
        size_t length = (size_t)received - 1 < text_size - 1 ? (size_t)received - 1 : text_size - 1;
        memcpy(text, message + 1, length);
        text[length] = '\0';
    }
    return (unsigned char)message[0];
}
