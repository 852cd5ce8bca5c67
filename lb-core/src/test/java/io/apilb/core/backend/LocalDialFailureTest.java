package io.apilb.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.resource.LocalResourceError;
import io.apilb.core.resource.LocalResources;

import java.io.IOException;
import java.net.ConnectException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

/** A dial that failed for lack of apilb's own resources is counted as local and never blamed on the backend. */
class LocalDialFailureTest {

    @Test
    void localResourceDialFailureIsCountedButNotObserved() {
        BackendPool pool = new BackendPool(List.of(new BackendConfig("m1", HostPort.parse("10.0.0.1:6443"), 1)));
        List<ConnectFailure> observed = new CopyOnWriteArrayList<>();
        pool.setConnectObserver(new ConnectObserver() {
            @Override
            public void connectFailed(Backend backend, ConnectFailure reason, Throwable cause) {
                observed.add(reason);
            }

            @Override
            public void connectSucceeded(Backend backend) {
            }
        });
        Backend m1 = pool.get("m1");
        long before = LocalResources.process().count(LocalResourceError.EMFILE);

        // As the proxy reports a failed dial: classify, then hand to the pool.
        Throwable emfile = new IOException("Too many open files");
        pool.connectFailed(m1, ConnectFailure.of(emfile), emfile);
        Throwable refused = new ConnectException("Connection refused");
        pool.connectFailed(m1, ConnectFailure.of(refused), refused);

        assertEquals(List.of(ConnectFailure.CONNECT_REFUSED), observed);
        assertEquals(before + 1, LocalResources.process().count(LocalResourceError.EMFILE));
        assertEquals(1, m1.stats().connectFailures(ConnectFailure.LOCAL_RESOURCE));
        assertEquals(1, m1.stats().connectFailures(ConnectFailure.CONNECT_REFUSED));
    }
}
