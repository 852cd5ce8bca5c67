package io.apilb.core.backend;

/**
 * Receives what the proxy learns about a backend while dialling it: passive health observations.
 * The health module installs one with {@link BackendPool#setConnectObserver}. Called on the client
 * connection's event loop: implementations must not block.
 */
public interface ConnectObserver {
    ConnectObserver NONE = new ConnectObserver() {
        @Override
        public void connectFailed(Backend backend, ConnectFailure reason, Throwable cause) {
        }

        @Override
        public void connectSucceeded(Backend backend) {
        }
    };

    void connectFailed(Backend backend, ConnectFailure reason, Throwable cause);

    void connectSucceeded(Backend backend);
}
