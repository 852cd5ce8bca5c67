package io.apilb.core.testing;

import io.apilb.core.config.AdminConfig;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.BalancePolicy;
import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.config.Limits;
import io.apilb.core.config.ListenerConfig;
import io.apilb.core.config.LoggingConfig;
import io.apilb.core.config.TcpConfig;
import io.apilb.core.config.Timeouts;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Builds configs for tests: one listener on 127.0.0.1:0 and the given backends, defaults elsewhere. */
public final class TestConfigs {
    private final List<BackendConfig> backends = new ArrayList<>();
    private BalancePolicy balance = BalancePolicy.ROUNDROBIN;
    private int retries = ApilbConfig.DEFAULT_RETRIES;
    private Timeouts timeouts = Timeouts.DEFAULTS;
    private Limits limits = Limits.DEFAULTS;
    private HealthConfig health = HealthConfig.DEFAULTS;
    private Duration shutdownGrace = Duration.ofSeconds(5);

    public static TestConfigs builder() {
        return new TestConfigs();
    }

    /** A backend named after the server, at its address. */
    public TestConfigs backend(TestApiServer server) {
        return backend(server.name(), server.hostPort(), 1);
    }

    public TestConfigs backend(String name, String address, int weight) {
        backends.add(new BackendConfig(name, HostPort.parse(address), weight));
        return this;
    }

    public TestConfigs balance(BalancePolicy p) {
        this.balance = p;
        return this;
    }

    public TestConfigs retries(int n) {
        this.retries = n;
        return this;
    }

    public TestConfigs timeouts(Duration connect, Duration idle) {
        this.timeouts = new Timeouts(connect, idle);
        return this;
    }

    public TestConfigs clientHello(Duration d) {
        this.timeouts = new Timeouts(timeouts.connect(), timeouts.idle(), d, timeouts.firstByte());
        return this;
    }

    public TestConfigs firstByte(Duration d) {
        this.timeouts = new Timeouts(timeouts.connect(), timeouts.idle(), timeouts.clientHello(), d);
        return this;
    }

    public TestConfigs maxConnections(int n) {
        this.limits = new Limits(n);
        return this;
    }

    public TestConfigs perSource(Limits.PerSource p) {
        this.limits = new Limits(limits.maxConnections(), p);
        return this;
    }

    public TestConfigs health(HealthConfig h) {
        this.health = h;
        return this;
    }

    public TestConfigs shutdownGrace(Duration d) {
        this.shutdownGrace = d;
        return this;
    }

    public ApilbConfig build() {
        return new ApilbConfig(List.of(new ListenerConfig("apiserver", new HostPort("127.0.0.1", 0))), backends,
                balance, retries, timeouts, TcpConfig.DEFAULTS, limits, health,
                new AdminConfig(false, AdminConfig.DEFAULT_ADDRESS, null, null), LoggingConfig.DEFAULTS,
                shutdownGrace, ApilbConfig.DEFAULT_DRAIN_TIMEOUT, ApilbConfig.DEFAULT_SHUTDOWN_DELAY);
    }
}
