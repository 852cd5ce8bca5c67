package io.apilb.core.backend;

/**
 * Told about changes of a backend's health or admin state, after the routable snapshot has been
 * republished. Called on the thread that made the change; must not block.
 */
@FunctionalInterface
public interface BackendListener {
    void stateChanged(Backend backend, Health oldHealth, AdminState oldState);
}
