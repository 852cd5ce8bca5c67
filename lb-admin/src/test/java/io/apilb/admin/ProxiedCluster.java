package io.apilb.admin;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.config.AdminConfig;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.proxy.ProxyServer;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestConfigs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Three TLS test masters, the real proxy in front of them and the admin server over the same pool:
 * the whole data path on loopback, driven through the admin API.
 */
final class ProxiedCluster implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    final List<TestApiServer> masters = new ArrayList<>();
    final BackendPool pool;
    final ProxyServer proxy;
    final InetSocketAddress proxyAddress;
    final PrometheusMeterRegistry registry = AdminServer.newMeterRegistry();
    final AdminServer admin;
    final InetSocketAddress adminAddress;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    ProxiedCluster() {
        TestConfigs c = TestConfigs.builder();
        for (int i = 1; i <= 3; i++) {
            TestApiServer m = TestApiServer.start("master" + i);
            masters.add(m);
            c.backend(m);
        }
        ApilbConfig config = c.build();
        pool = new BackendPool(config.backends());
        proxy = new ProxyServer(pool);
        proxy.start(config);
        proxyAddress = proxy.boundAddresses().get(0);
        admin = new AdminServer(new AdminConfig(true, new HostPort("127.0.0.1", 0), null, null), pool, proxy.stats(),
                null, registry, null);
        adminAddress = admin.start();
    }

    HttpResponse<String> request(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminAddress.getPort() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode backend(String name) throws Exception {
        HttpResponse<String> res = request("GET", "/api/v1/backends/" + name, null);
        if (res.statusCode() != 200) {
            throw new AssertionError(res.statusCode() + " " + res.body());
        }
        return JSON.readTree(res.body());
    }

    JsonNode setState(String name, String state) throws Exception {
        HttpResponse<String> res = request("PUT", "/api/v1/backends/" + name + "/state", "{\"state\":\"" + state + "\"}");
        if (res.statusCode() != 200) {
            throw new AssertionError(res.statusCode() + " " + res.body());
        }
        return JSON.readTree(res.body());
    }

    String scrape() throws Exception {
        return request("GET", "/metrics", null).body();
    }

    @Override
    public void close() {
        admin.close();
        proxy.close();
        masters.forEach(TestApiServer::close);
        registry.close();
    }
}
