package io.apilb.app.demo;

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
import io.apilb.core.config.TlsConfig;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The demo that {@code apilb} runs with no config: three local TLS masters and the config that
 * balances them, plus a small console to crash, restart or un-ready a master and watch the
 * balancer react.
 */
public final class Demo {
    public static final HostPort DEFAULT_LISTEN = new HostPort("127.0.0.1", 6443);

    private Demo() {
    }

    /** The balancer's config for these masters: health checks verify them against the demo CA. */
    public static ApilbConfig config(DemoCluster cluster, HostPort listen, HostPort admin) {
        List<BackendConfig> backends = new ArrayList<>();
        for (int i = 0; i < cluster.size(); i++) {
            backends.add(new BackendConfig(cluster.name(i), new HostPort("127.0.0.1", cluster.port(i)), 1));
        }
        HealthConfig d = HealthConfig.DEFAULTS;
        HealthConfig health = new HealthConfig(true, d.mode(), d.path(), d.expectStatus(), d.interval(), d.timeout(),
                d.rise(), d.fall(), d.onDown(), d.failOpen(), 0,
                new TlsConfig(cluster.caFile(), false, "kubernetes", null, null));
        return new ApilbConfig(List.of(new ListenerConfig("apiserver", listen)), backends, BalancePolicy.ROUNDROBIN,
                ApilbConfig.DEFAULT_RETRIES, Timeouts.DEFAULTS, TcpConfig.DEFAULTS, Limits.DEFAULTS, health,
                new AdminConfig(true, admin, null, null), LoggingConfig.DEFAULTS, Duration.ofSeconds(5),
                ApilbConfig.DEFAULT_DRAIN_TIMEOUT, ApilbConfig.DEFAULT_SHUTDOWN_DELAY);
    }

    /** What to try next, printed once everything listens. */
    public static String banner(DemoCluster cluster, HostPort listen, HostPort admin, boolean adminRunning) {
        StringBuilder sb = new StringBuilder();
        sb.append("\napilb demo: three local masters behind ").append(listen).append("\n\n");
        sb.append(cluster.describe()).append('\n');
        sb.append("Try it (each call may land on another master):\n");
        sb.append("  for i in 1 2 3 4 5 6; do curl -s --cacert ").append(cluster.caFile())
                .append(" https://").append(listen).append("/version | grep servedBy; done\n");
        sb.append("  curl -sk https://").append(listen).append("/version\n");
        if (adminRunning) {
            sb.append("\nDashboard: http://").append(admin).append("/\n");
        }
        sb.append("\nConsole: type 'stop 2', 'start 2', 'unready 2', 'ready 2', 'status' or 'help'; Ctrl-C quits.\n");
        return sb.toString();
    }

    /**
     * Reads console commands from {@code in} until it ends. Runs on its own daemon thread.
     */
    public static Thread console(DemoCluster cluster, InputStream in, PrintStream out) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    String reply = command(cluster, line.trim());
                    if (!reply.isEmpty()) {
                        out.println(reply);
                    }
                }
            } catch (IOException e) {
                // stdin closed: the demo keeps running without its console.
            }
        }, "apilb-demo-console");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Runs one console command and returns what to print. */
    public static String command(DemoCluster cluster, String line) {
        if (line.isEmpty()) {
            return "";
        }
        String[] words = line.split("\\s+");
        String verb = words[0].toLowerCase(java.util.Locale.ROOT);
        if (verb.equals("status")) {
            return cluster.describe();
        }
        if (verb.equals("help") || words.length != 2) {
            return "commands: stop N | start N | unready N | ready N | status   (N = 1.." + cluster.size() + ")";
        }
        int n;
        try {
            n = Integer.parseInt(words[1]);
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 1 || n > cluster.size()) {
            return "no master " + words[1] + " (expected: 1.." + cluster.size() + ")";
        }
        int i = n - 1;
        switch (verb) {
            case "stop" -> cluster.stop(i);
            case "start" -> cluster.restart(i);
            case "unready" -> cluster.ready(i, false);
            case "ready" -> cluster.ready(i, true);
            default -> {
                return "unknown command '" + verb + "'; try help";
            }
        }
        return cluster.name(i) + ": " + verb + " done";
    }
}
