package io.apilb.admin;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.config.AdminConfig;
import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.proxy.FrontendStats;
import io.apilb.core.rebalance.Rebalancer;
import io.apilb.health.CheckResult;
import io.apilb.health.CheckResults;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** An admin server on 127.0.0.1:0 over a pool of three backends, and an HTTP client for it. */
final class AdminFixture implements AutoCloseable {
    final BackendPool pool;
    final FrontendStats frontend = new FrontendStats();
    final FakeChecks checks = new FakeChecks();
    final PrometheusMeterRegistry registry = AdminServer.newMeterRegistry();
    final AdminServer server;
    final InetSocketAddress address;
    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    /** Probe results set by the test. */
    static final class FakeChecks implements CheckResults {
        final Map<String, CheckResult> last = new ConcurrentHashMap<>();

        @Override
        public CheckResult last(String backend) {
            return last.get(backend);
        }

        @Override
        public List<CheckResult> history(String backend) {
            CheckResult r = last.get(backend);
            return r == null ? List.of() : List.of(r);
        }
    }

    AdminFixture() {
        this(null, null);
    }

    AdminFixture(String token, Reloader reloader) {
        this(defaultPool(), token, reloader);
    }

    AdminFixture(BackendPool pool, String token, Reloader reloader) {
        this(new AdminConfig(true, new HostPort("127.0.0.1", 0), token, null), pool, reloader);
    }

    AdminFixture(AdminConfig config, BackendPool pool, Reloader reloader) {
        this(config, pool, reloader, null);
    }

    AdminFixture(AdminConfig config, BackendPool pool, Reloader reloader, Rebalancer rebalancer) {
        this.pool = pool;
        server = new AdminServer(config, pool, frontend, checks, registry, reloader, rebalancer);
        address = server.start();
    }

    static BackendPool defaultPool() {
        List<BackendConfig> configs = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            configs.add(new BackendConfig("master" + i, new HostPort("10.0.0." + (10 + i), 6443), i == 2 ? 2 : 1));
        }
        return new BackendPool(configs);
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + address.getPort() + path);
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri(path)).GET());
    }

    HttpResponse<String> put(String path, String body, String token) throws IOException, InterruptedException {
        return send(withToken(HttpRequest.newBuilder(uri(path)).PUT(HttpRequest.BodyPublishers.ofString(body)), token));
    }

    HttpResponse<String> post(String path, String token) throws IOException, InterruptedException {
        return send(withToken(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.noBody()), token));
    }

    HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        return client.send(request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest.Builder withToken(HttpRequest.Builder b, String token) {
        return token == null ? b : b.header("Authorization", "Bearer " + token);
    }

    @Override
    public void close() {
        server.close();
        registry.close();
    }
}
