package io.apilb.health;

import static org.awaitility.Awaitility.await;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendListener;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Health;
import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.HealthMode;
import io.apilb.core.config.HostPort;
import io.apilb.core.config.OnDown;
import io.apilb.core.config.TlsConfig;
import io.apilb.core.testing.TestApiServer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Shared test setup: fast health configs, pools over test servers, a recorder of verdict flips. */
final class HealthFixtures {
    static final Duration INTERVAL = Duration.ofMillis(150);
    static final Duration TIMEOUT = Duration.ofMillis(300);
    static final Duration DEADLINE = Duration.ofSeconds(10);

    private HealthFixtures() {
    }

    /** A {@link HealthConfig} with test timings; every field settable. */
    static final class Config {
        boolean enabled = true;
        HealthMode mode = HealthMode.HTTPS;
        String path = "/readyz";
        List<Integer> expect = List.of(200);
        Duration interval = INTERVAL;
        Duration timeout = TIMEOUT;
        int rise = 2;
        int fall = 2;
        OnDown onDown = OnDown.CLOSE;
        boolean failOpen = true;
        TlsConfig tls = TlsConfig.DEFAULTS;

        Config mode(HealthMode m) {
            mode = m;
            return this;
        }

        Config rise(int r) {
            rise = r;
            return this;
        }

        Config fall(int f) {
            fall = f;
            return this;
        }

        Config onDown(OnDown o) {
            onDown = o;
            return this;
        }

        Config enabled(boolean e) {
            enabled = e;
            return this;
        }

        Config tls(TlsConfig t) {
            tls = t;
            return this;
        }

        Config interval(Duration d) {
            interval = d;
            return this;
        }

        Config timeout(Duration d) {
            timeout = d;
            return this;
        }

        HealthConfig build() {
            return new HealthConfig(enabled, mode, path, expect, interval, timeout, rise, fall, onDown, failOpen, 0,
                    tls);
        }
    }

    static Config config() {
        return new Config();
    }

    static TlsConfig tls(java.nio.file.Path ca, String serverName) {
        return new TlsConfig(ca, false, serverName, null, null);
    }

    /** A pool with one backend per server, named after the server. */
    static BackendPool pool(TestApiServer... servers) {
        List<BackendConfig> configs = new ArrayList<>();
        for (TestApiServer s : servers) {
            configs.add(new BackendConfig(s.name(), HostPort.parse(s.hostPort()), 1));
        }
        return new BackendPool(configs);
    }

    static BackendPool pool(String name, String hostPort) {
        return new BackendPool(List.of(new BackendConfig(name, HostPort.parse(hostPort), 1)));
    }

    static void awaitHealth(BackendPool pool, String name, Health health) {
        await().atMost(DEADLINE).until(() -> pool.get(name).health() == health);
    }

    /** Closes what a test opened, last opened first. */
    static final class Closer implements AutoCloseable {
        private final List<AutoCloseable> opened = new ArrayList<>();

        <T extends AutoCloseable> T add(T closeable) {
            opened.add(closeable);
            return closeable;
        }

        /** Closes everything, even after a failure; then throws the first failure. */
        @Override
        public void close() {
            RuntimeException failed = null;
            for (int i = opened.size() - 1; i >= 0; i--) {
                try {
                    opened.get(i).close();
                } catch (Exception e) {
                    if (failed == null) {
                        failed = new IllegalStateException("closing " + opened.get(i), e);
                    }
                }
            }
            opened.clear();
            if (failed != null) {
                throw failed;
            }
        }
    }

    /** One flip of a backend's health, with the results known at that moment. */
    record Flip(String backend, Health to, List<CheckResult> history) {
        /** How many results at the end of the history agree with the new verdict. */
        int streak() {
            int n = 0;
            for (int i = history.size() - 1; i >= 0 && history.get(i).status().ok() == (to == Health.UP); i--) {
                n++;
            }
            return n;
        }
    }

    /** Records health flips as the pool announces them, on the thread that made them. */
    static final class Flips implements BackendListener {
        private final CheckResults results;
        final List<Flip> flips = new CopyOnWriteArrayList<>();

        Flips(BackendPool pool, CheckResults results) {
            this.results = results;
            pool.addListener(this);
        }

        @Override
        public void stateChanged(Backend backend, io.apilb.core.backend.Health oldHealth,
                                 io.apilb.core.backend.AdminState oldState) {
            if (backend.health() != oldHealth) {
                flips.add(new Flip(backend.name(), backend.health(), results.history(backend.name())));
            }
        }

        Flip lastTo(String backend, Health to) {
            Flip found = null;
            for (Flip f : flips) {
                if (f.backend().equals(backend) && f.to() == to) {
                    found = f;
                }
            }
            return found;
        }
    }
}
