package io.apilb.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;

import java.util.ArrayDeque;

/**
 * The client's first flight (for TLS, its ClientHello and whatever follows before the master
 * answers), kept in order within a bound until the master's first byte arrives, so that it can be
 * sent again, byte for byte, to another master if this one never answers (handshake redispatch).
 *
 * <p>Before the backend is connected, {@link #hold} takes the client's buffers; {@link #replayTo}
 * writes copies to a backend and keeps the originals; once connected, {@link #keepCopy} keeps a copy
 * of what is relayed until {@link #release()} (the master spoke) or until the bound is exceeded,
 * after which nothing can be replayed. Confined to the connection's event loop; owns what it holds.
 */
final class FirstFlight {
    /** Most a client may send before its master answers; a TLS ClientHello is far smaller. */
    static final int MAX_BYTES = 64 * 1024;

    private ArrayDeque<ByteBuf> held;
    private int bytes;
    private boolean overflowed;

    /**
     * Keeps {@code buf}, taking ownership of it; used before any backend is connected.
     *
     * @return false when it would exceed {@link #MAX_BYTES}: {@code buf} is released and the
     *         client should be closed
     */
    boolean hold(ByteBuf buf) {
        int n = buf.readableBytes();
        if (overflowed || bytes + n > MAX_BYTES) {
            buf.release();
            return false;
        }
        if (held == null) {
            held = new ArrayDeque<>(2);
        }
        held.add(buf);
        bytes += n;
        return true;
    }

    /**
     * Keeps a copy of {@code buf}, which the caller still owns and is about to relay; past the
     * bound, drops everything kept and stops: the flight can no longer be replayed.
     */
    void keepCopy(ByteBuf buf) {
        if (overflowed) {
            return;
        }
        if (bytes + buf.readableBytes() > MAX_BYTES) {
            release();
            overflowed = true;
            return;
        }
        if (held == null) {
            held = new ArrayDeque<>(2);
        }
        held.add(buf.retainedDuplicate());
        bytes += buf.readableBytes();
    }

    /** Whether what the client sent so far is all here, so it can be sent to another master. */
    boolean replayable() {
        return !overflowed;
    }

    /**
     * Writes and flushes a copy of everything kept to {@code backend}; the originals stay kept.
     *
     * @return the number of bytes written
     */
    int replayTo(Channel backend) {
        if (held == null || held.isEmpty()) {
            return 0;
        }
        for (ByteBuf buf : held) {
            backend.write(buf.retainedDuplicate(), backend.voidPromise());
        }
        backend.flush();
        return bytes;
    }

    /** Releases whatever is kept: the master has spoken, or the connection ended. */
    void release() {
        if (held != null) {
            for (ByteBuf buf = held.poll(); buf != null; buf = held.poll()) {
                buf.release();
            }
            held = null;
        }
        bytes = 0;
    }
}
