package io.apilb.core.config;

import static io.apilb.core.config.ValueType.bool;
import static io.apilb.core.config.ValueType.cidr;
import static io.apilb.core.config.ValueType.duration;
import static io.apilb.core.config.ValueType.file;
import static io.apilb.core.config.ValueType.hostPort;
import static io.apilb.core.config.ValueType.integer;
import static io.apilb.core.config.ValueType.name;
import static io.apilb.core.config.ValueType.oneOf;
import static io.apilb.core.config.ValueType.text;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Builds an {@link ApilbConfig} from a composed YAML tree: the schema (which keys exist where),
 * each value's type and range, and the defaults of absent values. A wrong value is reported and
 * replaced by its default or a placeholder, so binding always finishes and finds every error; the
 * result is only used when {@link Problems} stays empty.
 */
final class ConfigBinder {
    /** Stands in for an address that is missing or wrong; never leaves a failed load. */
    private static final HostPort UNSET = new HostPort("unset.invalid", 1);
    private static final Duration MILLI = Duration.ofMillis(1);
    private static final Duration SECOND = Duration.ofSeconds(1);
    // Linux caps TCP_KEEPIDLE and TCP_KEEPINTVL at 32767 s and TCP_KEEPCNT at 127; beyond that
    // setsockopt fails on every accepted connection instead of once, here.
    private static final Duration MAX_KEEPALIVE = Duration.ofHours(9);
    private static final int MAX_KEEPALIVE_COUNT = 127;
    // TCP_USER_TIMEOUT is an int of milliseconds (at most about 24.8 days).
    private static final Duration MAX_USER_TIMEOUT = Duration.ofDays(24);
    // A probe more often than this adds load to the API servers without making failover faster,
    // which is bounded by interval x fall anyway.
    private static final Duration MIN_HEALTH_INTERVAL = Duration.ofMillis(100);

    /** Log levels the launcher can set; stored in upper case in {@link LoggingConfig#level()}. */
    private enum LogLevel { TRACE, DEBUG, INFO, WARN, ERROR }

    private final Problems problems;
    private final Path baseDir;
    private final EnvExpander env;

    private ConfigBinder(Problems problems, EnvExpander env, Path baseDir) {
        this.problems = problems;
        this.env = env;
        this.baseDir = baseDir;
    }

    static ApilbConfig bind(Node root, Problems problems, EnvExpander env, Path baseDir) {
        return new ConfigBinder(problems, env, baseDir).config(root);
    }

    private ApilbConfig config(Node node) {
        YamlMap root = YamlMap.root(node, problems, env, "listeners", "backends", "balance", "retries",
                "timeouts", "tcp", "limits", "health", "admin", "logging", "shutdownGrace", "drainTimeout",
                "shutdownDelay", "slowStart", "rebalance");
        return new ApilbConfig(
                listeners(root),
                backends(root),
                root.optional("balance", oneOf(BalancePolicy.class), BalancePolicy.ROUNDROBIN),
                root.optional("retries", integer(0, Integer.MAX_VALUE), ApilbConfig.DEFAULT_RETRIES),
                timeouts(root.section("timeouts", "connect", "idle", "clientHello", "firstByte")),
                tcp(root.section("tcp", "keepAliveIdle", "keepAliveInterval", "keepAliveCount", "userTimeout",
                        "noDelay")),
                limits(root.section("limits", "maxConnections", "perSource")),
                health(root.section("health", "enabled", "mode", "path", "expectStatus", "interval", "timeout",
                        "rise", "fall", "onDown", "failOpen", "port", "tls", "fastInterval", "downInterval")),
                admin(root.section("admin", "enabled", "address", "token", "tokenFile", "requestTimeout",
                        "maxConnections")),
                logging(root.section("logging", "format", "accessLog", "level")),
                root.optional("shutdownGrace", duration(Duration.ZERO), ApilbConfig.DEFAULT_SHUTDOWN_GRACE),
                root.optional("drainTimeout", duration(Duration.ZERO), ApilbConfig.DEFAULT_DRAIN_TIMEOUT),
                root.optional("shutdownDelay", duration(Duration.ZERO), ApilbConfig.DEFAULT_SHUTDOWN_DELAY),
                root.optional("slowStart", duration(Duration.ZERO), ApilbConfig.DEFAULT_SLOW_START),
                rebalance(root.section("rebalance", "enabled", "maxClosesPerSecond", "minAge", "clientQuietFor",
                        "tolerance")));
    }

    private static RebalanceConfig rebalance(YamlMap m) {
        RebalanceConfig d = RebalanceConfig.DEFAULTS;
        return new RebalanceConfig(
                m.optional("enabled", bool(), d.enabled()),
                m.optional("maxClosesPerSecond", ValueType.number(RebalanceConfig.MIN_CLOSES_PER_SECOND,
                        RebalanceConfig.MAX_CLOSES_PER_SECOND), d.maxClosesPerSecond()),
                m.optional("minAge", duration(Duration.ZERO), d.minAge()),
                m.optional("clientQuietFor", duration(Duration.ZERO), d.clientQuietFor()),
                m.optional("tolerance", ValueType.number(0, RebalanceConfig.MAX_TOLERANCE), d.tolerance()));
    }

    private static List<ListenerConfig> listeners(YamlMap root) {
        List<ListenerConfig> out = new ArrayList<>();
        for (YamlMap m : root.items("listeners", "name", "address")) {
            out.add(new ListenerConfig(m.required("name", name(), ""), m.required("address", hostPort(), UNSET)));
        }
        return out;
    }

    private static List<BackendConfig> backends(YamlMap root) {
        List<BackendConfig> out = new ArrayList<>();
        for (YamlMap m : root.items("backends", "name", "address", "weight")) {
            out.add(new BackendConfig(
                    m.required("name", name(), ""),
                    m.required("address", hostPort(), UNSET),
                    m.optional("weight", integer(0, BackendConfig.MAX_WEIGHT), BackendConfig.DEFAULT_WEIGHT)));
        }
        return out;
    }

    private static Timeouts timeouts(YamlMap m) {
        return new Timeouts(
                m.optional("connect", duration(MILLI), Timeouts.DEFAULT_CONNECT),
                m.optional("idle", duration(MILLI), Timeouts.DEFAULT_IDLE),
                m.optional("clientHello", duration(Duration.ZERO), Timeouts.DEFAULT_CLIENT_HELLO),
                m.optional("firstByte", duration(Duration.ZERO), Timeouts.DEFAULT_FIRST_BYTE));
    }

    private static Limits limits(YamlMap m) {
        Limits.PerSource d = Limits.PerSource.DEFAULTS;
        YamlMap p = m.section("perSource", "maxConnections", "rate", "allow");
        return new Limits(
                m.optional("maxConnections", integer(1, Integer.MAX_VALUE), Limits.DEFAULT_MAX_CONNECTIONS),
                new Limits.PerSource(
                        p.optional("maxConnections", integer(1, Integer.MAX_VALUE), d.maxConnections()),
                        p.optional("rate", integer(0, Integer.MAX_VALUE), d.rate()),
                        p.list("allow", cidr(), d.allow())));
    }

    private static TcpConfig tcp(YamlMap m) {
        TcpConfig d = TcpConfig.DEFAULTS;
        return new TcpConfig(
                m.optional("keepAliveIdle", duration(SECOND, MAX_KEEPALIVE), d.keepAliveIdle()),
                m.optional("keepAliveInterval", duration(SECOND, MAX_KEEPALIVE), d.keepAliveInterval()),
                m.optional("keepAliveCount", integer(1, MAX_KEEPALIVE_COUNT), d.keepAliveCount()),
                m.optional("userTimeout", duration(Duration.ZERO, MAX_USER_TIMEOUT), d.userTimeout()),
                m.optional("noDelay", bool(), d.noDelay()));
    }

    private HealthConfig health(YamlMap m) {
        HealthConfig d = HealthConfig.DEFAULTS;
        Duration interval = m.optional("interval", duration(MIN_HEALTH_INTERVAL), d.interval());
        return new HealthConfig(
                m.optional("enabled", bool(), d.enabled()),
                m.optional("mode", oneOf(HealthMode.class), d.mode()),
                m.optional("path", ValueType.urlPath(), d.path()),
                m.oneOrMore("expectStatus", integer(100, 599), d.expectStatus()),
                interval,
                m.optional("timeout", duration(MILLI), d.timeout()),
                m.optional("rise", integer(1, Integer.MAX_VALUE), d.rise()),
                m.optional("fall", integer(1, Integer.MAX_VALUE), d.fall()),
                m.optional("onDown", oneOf(OnDown.class), d.onDown()),
                m.optional("failOpen", bool(), d.failOpen()),
                m.optional("port", integer(0, 65535), d.port()),
                tls(m.section("tls", "ca", "insecure", "serverName", "cert", "key")),
                m.optional("fastInterval", duration(MIN_HEALTH_INTERVAL), HealthConfig.defaultFastInterval(interval)),
                m.optional("downInterval", duration(MIN_HEALTH_INTERVAL), interval));
    }

    private TlsConfig tls(YamlMap m) {
        return new TlsConfig(
                m.optional("ca", file(baseDir), null),
                m.optional("insecure", bool(), false),
                m.optional("serverName", text(), null),
                m.optional("cert", file(baseDir), null),
                m.optional("key", file(baseDir), null));
    }

    // Below 100 ms a request from a busy scraper on a loaded host could not arrive in time; beyond
    // 10 min a slow client holds an admin connection as long as it likes.
    private static final Duration MIN_ADMIN_REQUEST_TIMEOUT = Duration.ofMillis(100);
    private static final Duration MAX_ADMIN_REQUEST_TIMEOUT = Duration.ofMinutes(10);
    // Each admin connection costs a file descriptor and a few KiB of buffers the proxy may need.
    private static final int MAX_ADMIN_CONNECTIONS = 65_536;

    private AdminConfig admin(YamlMap m) {
        AdminConfig d = AdminConfig.DEFAULTS;
        return new AdminConfig(
                m.optional("enabled", bool(), d.enabled()),
                m.optional("address", hostPort(), d.address()),
                m.optional("token", text(), null),
                m.optional("tokenFile", file(baseDir), null),
                m.optional("requestTimeout", duration(MIN_ADMIN_REQUEST_TIMEOUT, MAX_ADMIN_REQUEST_TIMEOUT),
                        d.requestTimeout()),
                m.optional("maxConnections", integer(1, MAX_ADMIN_CONNECTIONS), d.maxConnections()));
    }

    private static LoggingConfig logging(YamlMap m) {
        LoggingConfig d = LoggingConfig.DEFAULTS;
        return new LoggingConfig(
                m.optional("format", oneOf(LogFormat.class), d.format()),
                m.optional("accessLog", bool(), d.accessLog()),
                m.optional("level", oneOf(LogLevel.class), LogLevel.valueOf(d.level())).name());
    }
}
