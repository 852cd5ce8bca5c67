package io.apilb.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;

import java.util.ArrayDeque;

/**
 * The client's first flight (for TLS, its ClientHello and whatever follows before the master
 * answers), kept in order within a bound until the master's first byte arrives, so that it can be
 * sent again, byte for byte, to another master if this one never answers (handshake redispatch).
 *
 * <p>Before the backend is connected, {@link #hold} takes the client's buffers and {@link #full()}
 * says when the client should not be read any further; {@link #replayTo} writes them to a backend,
 * keeping the originals while they are within {@link #MAX_BYTES}; once connected, {@link #keepCopy}
 * keeps a copy of what is relayed until {@link #release()} (the master spoke) or until the bound is
 * exceeded, after which nothing can be replayed. Confined to the connection's event loop; owns what
 * it holds.
 */
final class FirstFlight {
    /**
     * Most a client may send before its master answers and still be replayed; a TLS ClientHello is
     * far smaller.
     */
    static final int MAX_BYTES = 64 * 1024;

    /**
     * What is held before connect when the client stops being read until its backend is connected.
     * A ClientHello fits in one TLS record (at most 16 KiB), so an ordinary connection is read on
     * throughout and never pays the two interest changes of a pause.
     */
    static final int READ_AHEAD_BYTES = 16 * 1024;

    /**
     * Most held before connect. Reads pause at {@link #READ_AHEAD_BYTES}, after at most one more
     * read (64 KiB at most), so only a client that half-closes with more queued reaches it: epoll
     * reads a peer's last bytes and FIN whatever the read interest.
     */
    static final int MAX_HELD_BYTES = 2 * MAX_BYTES;

    private ArrayDeque<ByteBuf> held;
    private int bytes;
    private boolean overflowed;

    /**
     * Keeps {@code buf}, taking ownership of it; used while no backend is connected.
     *
     * @return false when it would exceed {@link #MAX_HELD_BYTES}: {@code buf} is released and the
     *         client should be closed
     */
    boolean hold(ByteBuf buf) {
        int n = buf.readableBytes();
        if (bytes + n > MAX_HELD_BYTES) {
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

    /** Whether enough is held that the client should not be read again before its backend is connected. */
    boolean full() {
        return bytes >= READ_AHEAD_BYTES;
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
        return !overflowed && bytes <= MAX_BYTES;
    }

    /**
     * Writes and flushes everything held to {@code backend}: copies while it is within
     * {@link #MAX_BYTES}, so the originals stay kept for another master; beyond the bound, the
     * originals themselves, and the flight can no longer be replayed.
     *
     * @return the number of bytes written
     */
    int replayTo(Channel backend) {
        if (held == null || held.isEmpty()) {
            return 0;
        }
        int written = bytes;
        if (replayable()) {
            for (ByteBuf buf : held) {
                backend.write(buf.retainedDuplicate(), backend.voidPromise());
            }
        } else {
            for (ByteBuf buf = held.poll(); buf != null; buf = held.poll()) {
                backend.write(buf, backend.voidPromise());
            }
            held = null;
            bytes = 0;
            overflowed = true;
        }
        backend.flush();
        return written;
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
