package io.apilb.core.backend;

/**
 * A live client connection relayed to a backend, as the pool sees it: something it can close, and
 * the few facts that tell whether closing it now would cut a request short. Implemented by the
 * proxy; registered with {@link Backend} while the connection lives.
 *
 * <p>Times are {@link System#nanoTime()} values. They are written on the connection's event loop
 * and may be read from any thread: a reader may see a value a few microseconds old, never a torn one.
 */
public interface ProxiedConnection {
    /** Closes both legs, recording why. Safe to call from any thread, more than once. */
    void close(Termination why);

    /** When the backend leg was connected. */
    long establishedAtNanos();

    /** When bytes last came from the client (at least the first flight, sent when it connected). */
    long lastClientByteNanos();

    /** When bytes last came from the backend, or {@link #establishedAtNanos()} when none came yet. */
    long lastBackendByteNanos();

    /**
     * Whether bytes wait in apilb's buffers for a peer that does not take them as fast as they
     * come: a response still being delivered even if the backend has paused, because apilb paused it.
     */
    boolean backlogged();
}
