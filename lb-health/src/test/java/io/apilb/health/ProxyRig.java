package io.apilb.health;

import static org.awaitility.Awaitility.await;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Health;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.Timeouts;
import io.apilb.core.proxy.ProxyServer;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestConfigs;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Three test masters behind a real proxy on 127.0.0.1:0, probed by a real {@link HealthChecker}:
 * the whole path a client takes, for tests of what health verdicts do to traffic.
 */
final class ProxyRig implements AutoCloseable {
    static final Duration DEADLINE = Duration.ofSeconds(15);

    final List<TestApiServer> servers = new ArrayList<>();
    final BackendPool pool;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final HealthChecker checker;
    final HealthFixtures.Flips flips;
    final ProxyServer proxy;

    ProxyRig(HealthConfig health, Duration connectTimeout, String... names) throws Exception {
        TestConfigs builder = TestConfigs.builder().health(health).timeouts(connectTimeout, Timeouts.DEFAULT_IDLE)
                .shutdownGrace(Duration.ofSeconds(1));
        try {
            for (String n : names) {
                TestApiServer s = TestApiServer.start(n);
                servers.add(s);
                builder.backend(s);
            }
            ApilbConfig config = builder.build();
            pool = new BackendPool(config.backends());
            checker = new HealthChecker(health, pool, registry);
            flips = new HealthFixtures.Flips(pool, checker);
            proxy = new ProxyServer(pool);
            proxy.start(config);
            checker.start();
        } catch (Exception | Error e) {
            servers.forEach(TestApiServer::close);
            throw e;
        }
    }

    InetSocketAddress address() {
        return proxy.boundAddresses().get(0);
    }

    TestApiServer server(String name) {
        return servers.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    void awaitHealth(String name, Health health) {
        await().atMost(DEADLINE).until(() -> pool.get(name).health() == health);
    }

    void awaitAllUp() {
        await().atMost(DEADLINE).until(() -> pool.all().stream().allMatch(b -> b.health() == Health.UP));
    }

    @Override
    public void close() {
        try {
            proxy.close();
        } finally {
            checker.close();
            servers.forEach(TestApiServer::close);
        }
    }
}
