package io.apilb.core.backend;

import java.util.function.Predicate;

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

    /**
     * Closes both legs, recording why, on behalf of one backend ({@code from} is its
     * {@link BackendConnections}): a connection that has left that backend by the time this is
     * carried out (handed to another before the first one answered) is not touched. Safe to call
     * from any thread.
     */
    default void closeFor(BackendConnections from, Termination why) {
        close(why);
    }

    /**
     * Closes both legs with {@code why} if {@code stillTrue} holds when tested on the connection's
     * own thread, after it has relayed the bytes that had already arrived: a decision taken on
     * another thread from times read a moment earlier (or across a pause of the whole process) is
     * checked again against fresh ones. Safe to call from any thread; does nothing once closed.
     */
    void closeIf(Predicate<ProxiedConnection> stillTrue, Termination why);

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
