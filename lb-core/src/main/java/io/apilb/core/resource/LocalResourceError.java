package io.apilb.core.resource;

import io.netty.channel.unix.Errors;

import java.util.Locale;

/**
 * The errors that mean apilb itself ran short, not that a peer failed: file descriptors (process or
 * host), local ports, kernel socket buffers, kernel memory. The one definition every caller uses
 * (the proxy's dials, the health probes, the listeners' accepts). Such an error says nothing about
 * the backend a socket was meant for: it is never a health observation.
 *
 * <p>Recognises both shapes the transports report: Netty's native (epoll, io_uring) exceptions
 * carry the errno ({@link Errors.NativeIoException#expectedErr()}, negative), the JDK's NIO puts the
 * C library's text in the {@link java.io.IOException} message. Stateless and thread-safe.
 */
public enum LocalResourceError {
    /** The process has no file descriptor left (its {@code RLIMIT_NOFILE}). */
    EMFILE(24, "Too many open files",
            "raise the open-files limit (LimitNOFILE= in the systemd unit, ulimit -n) or lower limits.maxConnections"),
    /** The host has no file descriptor left. */
    ENFILE(23, "Too many open files in system", "raise the host's limit (sysctl fs.file-max)"),
    /** No local port left for a new outgoing connection (ports in use or in TIME_WAIT). */
    EADDRNOTAVAIL(99, "Cannot assign requested address",
            "widen sysctl net.ipv4.ip_local_port_range or set net.ipv4.tcp_tw_reuse=1 (ephemeral ports used up)"),
    /** The kernel has no socket buffer left. */
    ENOBUFS(105, "No buffer space available",
            "raise the kernel's socket memory (sysctl net.ipv4.tcp_mem, net.core.optmem_max) or free memory"),
    /** The kernel could not allocate memory for the socket. */
    ENOMEM(12, "Cannot allocate memory", "free memory on the host or raise sysctl net.ipv4.tcp_mem");

    // The generic Linux errno numbers (asm-generic/errno*.h), shared by x86-64 and arm64.
    private final int errno;
    private final String text;
    private final String remedy;

    LocalResourceError(int errno, String text, String remedy) {
        this.errno = errno;
        this.text = text;
        this.remedy = remedy;
    }

    /**
     * The local shortage somewhere in {@code cause}'s chain, or null when the failure is not local
     * (a refused or timed-out connect, a TLS error, ...).
     */
    public static LocalResourceError of(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            LocalResourceError e = t instanceof Errors.NativeIoException n ? ofErrno(-n.expectedErr()) : null;
            if (e == null) {
                e = ofMessage(t.getMessage());
            }
            if (e != null) {
                return e;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }

    /** The kind for a positive errno, or null. */
    static LocalResourceError ofErrno(int errno) {
        for (LocalResourceError e : values()) {
            if (e.errno == errno) {
                return e;
            }
        }
        return null;
    }

    private static LocalResourceError ofMessage(String message) {
        if (message == null) {
            return null;
        }
        // The longest match wins: "Too many open files in system" (ENFILE) contains EMFILE's text.
        LocalResourceError best = null;
        for (LocalResourceError e : values()) {
            if (message.contains(e.text) && (best == null || e.text.length() > best.text.length())) {
                best = e;
            }
        }
        return best;
    }

    /** The {@code kind} tag, e.g. {@code emfile}. */
    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The C library's text for it, e.g. {@code Too many open files}. */
    public String text() {
        return text;
    }

    /** What an operator should raise or free, for the log. */
    public String remedy() {
        return remedy;
    }
}
