package io.apilb.app.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.ConfigLoader;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The operator-facing files under {@code config/} are valid for the programs that read them:
 * Prometheus rules for promtool (syntax and behaviour), the Grafana dashboard as JSON over metrics
 * apilb exports, every apilb config for {@code apilb check-config}, the Keepalived file for
 * keepalived, the systemd unit for systemd, and the static pod consistent with its apilb config.
 */
class ConfigFilesTest {
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);

    /** The apilb metrics the admin port exports, as Prometheus names them (checked against a scrape of /metrics). */
    static final Set<String> EXPORTED_METRICS = Set.of(
            "apilb_backend_up",
            "apilb_backend_connections_active",
            "apilb_backend_connections_total",
            "apilb_backend_bytes_total",
            "apilb_backend_connect_failures_total",
            "apilb_health_checks_total",
            "apilb_frontend_connections_active",
            "apilb_frontend_connections_accepted_total",
            "apilb_frontend_connections_rejected_total",
            "apilb_frontend_connections_no_backend_total",
            "apilb_frontend_connections_fail_open_total",
            "apilb_health_transitions_total",
            "apilb_health_all_down");

    private static final Pattern METRIC = Pattern.compile("\\bapilb_[a-z_]+\\b");

    @Test
    void promtoolAcceptsTheAlertRules() {
        Commands.assumeInstalled("promtool", "prometheus", "cannot check config/prometheus-rules.yaml");
        Commands.Result r = Commands.run(TOOL_TIMEOUT, "promtool", "check", "rules",
                RepoFiles.config("prometheus-rules.yaml").toString());
        assertTrue(r.ok() && r.output().contains("SUCCESS"), r.output());
    }

    @Test
    void alertRulesFireAsTheirTestsExpect() {
        Commands.assumeInstalled("promtool", "prometheus", "cannot run config/prometheus-rules.test.yaml");
        Commands.Result r = Commands.run(TOOL_TIMEOUT, RepoFiles.root().resolve("config"), Map.of(),
                "promtool", "test", "rules", "prometheus-rules.test.yaml");
        assertTrue(r.ok() && r.output().contains("SUCCESS"), r.output());
    }

    @Test
    void alertRulesQueryOnlyExportedMetrics() throws IOException {
        Set<String> used = metricsIn(Files.readString(RepoFiles.config("prometheus-rules.yaml")));
        assertFalse(used.isEmpty());
        assertTrue(EXPORTED_METRICS.containsAll(used), "unknown metrics in the rules: " + minus(used));
    }

    @Test
    @SuppressWarnings("unchecked")
    void dashboardIsJsonAndQueriesOnlyExportedMetrics() throws IOException {
        Map<String, Object> dashboard = dashboard();
        List<String> exprs = dashboardExpressions(dashboard);
        Set<String> used = new TreeSet<>();
        exprs.forEach(e -> used.addAll(metricsIn(e)));
        assertTrue(EXPORTED_METRICS.containsAll(used), "unknown metrics in the dashboard: " + minus(used));
        for (String shown : List.of("apilb_backend_up", "apilb_backend_connections_active",
                "apilb_backend_connections_total", "apilb_backend_bytes_total",
                "apilb_backend_connect_failures_total", "apilb_health_checks_total")) {
            assertTrue(used.contains(shown), "the dashboard shows " + shown);
        }
        for (Map<String, Object> panel : (List<Map<String, Object>>) dashboard.get("panels")) {
            assertEquals("${datasource}", ((Map<String, Object>) panel.get("datasource")).get("uid"),
                    "panel '" + panel.get("title") + "' uses the dashboard's data source variable");
        }
    }

    /** Every dashboard query is valid PromQL: promtool parses them as recording rules. */
    @Test
    void dashboardQueriesParseAsPromQl(@TempDir Path dir) throws IOException {
        Commands.assumeInstalled("promtool", "prometheus", "cannot parse the dashboard's queries");
        StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        int i = 0;
        for (String expr : dashboardExpressions(dashboard())) {
            // Grafana's variables, as Grafana would substitute them.
            String promql = expr.replace("$__rate_interval", "1m").replace("$instance", ".*");
            rules.append("      - record: apilb:dashboard_query:").append(i++).append('\n')
                    .append("        expr: '").append(promql.replace("'", "''")).append("'\n");
        }
        Path file = Files.writeString(dir.resolve("dashboard-queries.yaml"), rules);
        Commands.Result r = Commands.run(TOOL_TIMEOUT, "promtool", "check", "rules", file.toString());
        assertTrue(r.ok(), r.output() + "\n" + rules);
    }

    static Stream<Path> apilbConfigs() throws IOException {
        try (Stream<Path> files = Files.list(RepoFiles.root().resolve("config"))) {
            List<Path> configs = new ArrayList<>();
            for (Path f : files.sorted().toList()) {
                // An apilb config has listeners at the top; the other YAML files there are for
                // Prometheus and Kubernetes.
                if (f.toString().endsWith(".yaml") && Files.readString(f).lines().anyMatch(l -> l.equals("listeners:"))) {
                    configs.add(f);
                }
            }
            return configs.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("apilbConfigs")
    void checkConfigAcceptsEveryExampleConfig(Path file) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Commands.Result r = Commands.run(TOOL_TIMEOUT, null, Map.of("APILB_ADMIN_TOKEN", "example-token"),
                java, "-cp", System.getProperty("java.class.path"), "io.apilb.app.Main", "check-config", file.toString());
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().startsWith("OK: "), r.output());
    }

    @Test
    void thereAreExampleConfigsToCheck() throws IOException {
        assertTrue(apilbConfigs().count() >= 4, "apilb.yaml, apilb-on-masters.yaml, bootstrap.yaml, minimal.yaml");
    }

    @Test
    void keepalivedAcceptsItsConfigWithTheCheckScript() {
        Commands.assumeInstalled("keepalived", "keepalived", "cannot check config/keepalived.conf");
        Commands.Result r = Commands.run(TOOL_TIMEOUT, "keepalived", "--config-test", "--use-file",
                RepoFiles.config("keepalived.conf").toString());
        // keepalived 2.2 ends a config test by signalling itself (exit 143), whether or not the file
        // is valid; what it prints is the verdict: nothing for a valid file.
        assertTrue(r.exit() == 0 || r.exit() == 143, r.output());
        assertEquals("", r.output().replace("Terminated", "").strip());
    }

    @Test
    void systemdAcceptsTheUnit(@TempDir Path dir) throws IOException {
        Commands.assumeInstalled("systemd-analyze", "systemd", "cannot verify config/apilb.service");
        // verify checks that the commands exist: the unit runs the launcher from the runtime
        // tarball unpacked at /opt/apilb, here the launcher's source.
        Path launcher = RepoFiles.root().resolve("lb-app/src/dist/bin/apilb");
        Path unit = Files.writeString(dir.resolve("apilb.service"), Files.readString(RepoFiles.config("apilb.service"))
                .replace("/opt/apilb/bin/apilb", launcher.toString()));
        Commands.Result r = Commands.run(TOOL_TIMEOUT, "systemd-analyze", "verify", unit.toString());
        assertTrue(r.ok(), r.output());
        assertFalse(r.output().contains("apilb.service:"), "no warning about the unit:\n" + r.output());
    }

    /** The static pod and the config it runs agree: ports, CA, stop grace, probes. */
    @Test
    @SuppressWarnings("unchecked")
    void staticPodMatchesTheConfigItRuns() throws Exception {
        Map<String, Object> pod = new Yaml().load(Files.readString(RepoFiles.config("apilb-static-pod.yaml")));
        ApilbConfig config = ConfigLoader.load(RepoFiles.config("apilb-on-masters.yaml"), name -> "unused");
        Map<String, Object> spec = (Map<String, Object>) pod.get("spec");
        assertEquals(true, spec.get("hostNetwork"));
        long grace = ((Number) spec.get("terminationGracePeriodSeconds")).longValue();
        assertTrue(grace > config.shutdownDelay().plus(config.shutdownGrace()).toSeconds(),
                "terminationGracePeriodSeconds " + grace + " must exceed shutdownDelay " + config.shutdownDelay()
                        + " + shutdownGrace " + config.shutdownGrace());

        Map<String, Object> container = ((List<Map<String, Object>>) spec.get("containers")).get(0);
        int listenPort = config.listeners().get(0).address().port();
        assertEquals(8443, listenPort, "kube-apiserver holds 6443 on a master");
        assertTrue(((List<Map<String, Object>>) container.get("ports")).stream()
                .anyMatch(p -> ((Number) p.get("containerPort")).intValue() == listenPort));
        for (String probe : List.of("readinessProbe", "livenessProbe")) {
            Map<String, Object> get = (Map<String, Object>) ((Map<String, Object>) container.get(probe)).get("httpGet");
            assertEquals("/healthz", get.get("path"), probe);
            assertEquals(config.admin().address().port(), ((Number) get.get("port")).intValue(), probe);
        }
        Map<String, Object> caMount = ((List<Map<String, Object>>) container.get("volumeMounts")).stream()
                .filter(m -> "/etc/kubernetes/pki/ca.crt".equals(m.get("mountPath"))).findFirst().orElseThrow();
        assertEquals(true, caMount.get("readOnly"));
        assertEquals(Path.of("/etc/kubernetes/pki/ca.crt"), config.health().tls().ca());
    }

    /**
     * The dashboard, parsed by SnakeYAML: a JSON document is YAML, and a strict JSON parser is not
     * on this module's classpath. Grafana would reject what fails here.
     */
    private static Map<String, Object> dashboard() throws IOException {
        String text = Files.readString(RepoFiles.config("grafana-dashboard.json"));
        assertTrue(text.strip().startsWith("{") && text.strip().endsWith("}"), "a JSON object");
        assertFalse(text.contains("\t"), "no tabs, which JSON allows and YAML does not");
        return new Yaml().load(text);
    }

    /** Every {@code expr} of every panel target, at any depth. */
    private static List<String> dashboardExpressions(Map<String, Object> dashboard) {
        List<String> exprs = new ArrayList<>();
        collectExprs(dashboard, exprs);
        assertTrue(exprs.size() >= 10, "the dashboard has its queries: " + exprs);
        return exprs;
    }

    private static void collectExprs(Object node, List<String> into) {
        if (node instanceof Map<?, ?> map) {
            map.forEach((k, v) -> {
                if ("expr".equals(k) && v instanceof String s) {
                    into.add(s);
                } else {
                    collectExprs(v, into);
                }
            });
        } else if (node instanceof List<?> list) {
            list.forEach(v -> collectExprs(v, into));
        }
    }

    private static Set<String> metricsIn(String text) {
        Set<String> names = new TreeSet<>();
        Matcher m = METRIC.matcher(text);
        while (m.find()) {
            names.add(m.group());
        }
        return names;
    }

    private static Set<String> minus(Set<String> used) {
        Set<String> unknown = new TreeSet<>(used);
        unknown.removeAll(EXPORTED_METRICS);
        return unknown;
    }
}
