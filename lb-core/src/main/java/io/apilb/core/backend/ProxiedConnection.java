package io.apilb.core.backend;

/**
 * A live client connection relayed to a backend, as the pool sees it: something it can close.
 * Implemented by the proxy; registered with {@link Backend} while the connection lives.
 */
public interface ProxiedConnection {
    /** Closes both legs, recording why. Safe to call from any thread, more than once. */
    void close(Termination why);
}
