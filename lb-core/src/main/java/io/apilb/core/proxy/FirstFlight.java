package io.apilb.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;

import java.util.ArrayDeque;

/**
 * The bytes a client sent before its backend leg was ready (for TLS, its ClientHello), held in
 * order within a bound and written to the backend once it is. Confined to the connection's event
 * loop; owns the buffers it holds until they are written or released.
 */
final class FirstFlight {
    /** Most a client may send before its backend is connected; a TLS ClientHello is far smaller. */
    static final int MAX_BYTES = 64 * 1024;

    private ArrayDeque<ByteBuf> held;
    private int bytes;

    /**
     * Keeps {@code buf}, taking ownership of it.
     *
     * @return false when it would exceed {@link #MAX_BYTES}: {@code buf} is released and the
     *         client should be closed
     */
    boolean hold(ByteBuf buf) {
        int n = buf.readableBytes();
        if (bytes + n > MAX_BYTES) {
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

    /** Whether nothing is held. */
    boolean isEmpty() {
        return bytes == 0;
    }

    /**
     * Writes and flushes everything held to {@code backend}, handing the buffers over.
     *
     * @return the number of bytes written
     */
    int writeTo(Channel backend) {
        if (held == null) {
            return 0;
        }
        int n = bytes;
        for (ByteBuf buf = held.poll(); buf != null; buf = held.poll()) {
            backend.write(buf, backend.voidPromise());
        }
        backend.flush();
        held = null;
        bytes = 0;
        return n;
    }

    /** Releases whatever is still held; for a connection that ends before its backend is ready. */
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
