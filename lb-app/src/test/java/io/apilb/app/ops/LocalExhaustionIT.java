package io.apilb.app.ops;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.apilb.app.ApilbProcess;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestHttpsClient;
import io.apilb.core.testing.TestPki;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * apilb running out of its own resources, as a real process: file descriptors (EMFILE) under
 * {@code prlimit}, local ports (EADDRNOTAVAIL) in a network namespace with a tiny
 * {@code ip_local_port_range}. Either way the master stays UP, an open connection keeps passing
 * data, the shortage is counted as local, and new clients are served again soon after it ends.
 * Prints the figures seen.
 */
class LocalExhaustionIT {
    /** The process's open-files limit at start: far too few for the default 20,000 connections. */
    private static final int NOFILE = 512;
    private static final Duration RECOVERY = Duration.ofSeconds(3);
    /** Long enough for several probes (interval 1s, fall 2) to have failed for lack of resources. */
    private static final Duration HOLD = Duration.ofSeconds(3);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<AutoCloseable> opened = new ArrayList<>();
    private final List<String> namespaces = new ArrayList<>();

    @Test
    void descriptorExhaustionIsLocalAndOver3sAfterTheFloodEnds(@TempDir Path dir) throws Exception {
        assumeTrue(Commands.available("prlimit"), "prlimit (util-linux) not installed");
        TestApiServer m1 = add(TestApiServer.start("master1"));
        Path ca = TestPki.writeCa(TestPki.ca(), dir, "ca.crt");
        int port = freePort();
        int adminPort = freePort();
        Path config = Files.writeString(dir.resolve("apilb.yaml"), """
                listeners:
                  - { name: apiserver, address: 127.0.0.1:%d }
                backends:
                  - { name: master1, address: %s }
                health:
                  interval: 1s
                  timeout: 1s
                  fall: 2
                  tls: { ca: %s }
                admin:
                  address: 127.0.0.1:%d
                """.formatted(port, m1.hostPort(), ca, adminPort));
        ApilbProcess apilb = add(ApilbProcess.start(List.of("prlimit", "--nofile=" + NOFILE), dir,
                "--config", config.toString()));
        String admin = "http://127.0.0.1:" + adminPort;
        InetSocketAddress lb = new InetSocketAddress("127.0.0.1", port);
        awaitOrFail("master1 UP", Duration.ofSeconds(30), apilb,
                () -> health(get(admin + "/api/v1/backends")).equalsIgnoreCase("UP"));

        // Start-up fitted the connection limit to the descriptors.
        JsonNode frontend = JSON.readTree(get(admin + "/api/v1/frontend"));
        int effective = frontend.get("maxConnections").asInt();
        assertEquals(20_000, frontend.get("configuredMaxConnections").asInt());
        assertTrue(effective < NOFILE / 2, frontend::toString);
        assertTrue(apilb.output().contains("limits.maxConnections: 20000 needs"), apilb.output());

        TestHttpsClient longLived = add(TestHttpsClient.connect(lb));
        assertEquals("master1", longLived.get("/version").server());

        // The fitted limit keeps proxied connections within the descriptors; what runs them out anyway
        // (a limit lowered under the running process, descriptors used elsewhere) is stood in for by
        // lowering the soft limit to a few above what is open now, then, once the flood has taken
        // those, to the lowest free descriptor: nothing is left while the flood holds its connections.
        long open = openDescriptors(apilb.pid()).size();
        setSoftLimit(apilb.pid(), open + 16);

        int outputBefore = apilb.output().length();
        List<Socket> flood = new ArrayList<>();
        long full;
        try {
            long floodEnd = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            for (int i = 0; i < 400 && System.nanoTime() < floodEnd; i++) {
                flood.add(floodConnection(lb));
            }
            await("EMFILE counted").atMost(Duration.ofSeconds(10))
                    .until(() -> apilb.output().contains("Too many open files (emfile)"));
            full = lowestFree(openDescriptors(apilb.pid()));
            setSoftLimit(apilb.pid(), full);
            long holdUntil = System.nanoTime() + HOLD.toNanos();
            int pings = 0;
            while (System.nanoTime() < holdUntil) {
                assertEquals("master1", longLived.get("/version").server(), "the long-lived connection passes data");
                pings++;
                for (int i = 0; i < 5; i++) {
                    flood.add(floodConnection(lb));
                }
                Thread.sleep(200);
            }
            System.out.printf("EMFILE: %d pings on the long-lived connection during the flood%n", pings);
        } finally {
            for (Socket s : flood) {
                s.setSoLinger(true, 0);
                s.close();
            }
        }
        long floodEnded = System.nanoTime();
        await("a new client served after the flood").atMost(RECOVERY).pollInterval(Duration.ofMillis(50))
                .ignoreExceptions().until(() -> "master1".equals(TestHttpsClient.getOnce(lb, "/version").server()));
        long recoveryMs = (System.nanoTime() - floodEnded) / 1_000_000;

        assertEquals("master1", longLived.get("/version").server(), "the long-lived connection is still open");
        String backends = get(admin + "/api/v1/backends");
        assertEquals("up", health(backends), backends);
        String during = apilb.output().substring(outputBefore);
        assertTrue(!during.contains("-> DOWN"), during);
        String metrics = get(admin + "/metrics");
        double emfile = metric(metrics, "apilb_local_resource_errors_total\\{kind=\"emfile\"\\}");
        double l4res = metric(metrics, "apilb_health_checks_total\\{backend=\"master1\",result=\"L4RES\"\\}");
        assertTrue(emfile > 0, metrics);
        assertTrue(l4res > 0, "a probe ran into the shortage\n" + metrics);
        awaitProbesGoOn(() -> get(admin + "/metrics"), apilb);
        System.out.printf("EMFILE: open-files limit %d at start -> maxConnections %d (configured 20000); "
                        + "soft limit lowered to %d with %d open, then to %d under the flood; flood of %d connections; "
                        + "emfile errors counted %.0f, L4RES probes %.0f, master UP throughout; "
                        + "new client served %d ms after the flood ended%n",
                NOFILE, effective, open + 16, open, full, flood.size(), emfile, l4res, recoveryMs);
    }

    @Test
    void checkConfigWarnsWhenMaxConnectionsDoesNotFitTheOpenFilesLimit() {
        assumeTrue(Commands.available("prlimit"), "prlimit (util-linux) not installed");
        Commands.Result r = Commands.run(Duration.ofSeconds(60), "prlimit", "--nofile=256", java(), "-jar",
                System.getProperty("apilb.jar", "target/apilb.jar"), "check-config", "../config/minimal.yaml");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("OK: ../config/minimal.yaml"), r.output());
        assertTrue(r.output().contains("WARNING: limits.maxConnections: 20000 needs ")
                && r.output().contains("the open-files limit is 256: using maxConnections "), r.output());
    }

    @Test
    void portExhaustionIsLocalAndOver3sAfterTheFloodEnds(@TempDir Path dir) throws Exception {
        assumeTrue(Commands.isRoot(), "not root: creating a network namespace needs it");
        Commands.assumeInstalled("ip", "iproute2", "the namespace cannot be made");
        Commands.assumeInstalled("curl", "curl", "the admin API cannot be read inside the namespace");
        String ns = "apilb-ports-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(3));
        ip("netns", "add", ns);
        namespaces.add(ns);
        ip("-n", ns, "link", "set", "lo", "up");
        // Eight local ports: the long-lived connection's leg, a probe and six more dials fit.
        Commands.Result range = Commands.run(Duration.ofSeconds(5), "ip", "netns", "exec", ns, "sysctl", "-w",
                "net.ipv4.ip_local_port_range=40000 40007");
        assertTrue(range.ok(), range.output());

        Path ca = dir.resolve("master-ca.crt");
        Path masterOut = dir.resolve("master.out");
        Process master = start(masterOut, "ip", "netns", "exec", ns, java(), "-Xmx64m",
                "-cp", System.getProperty("java.class.path"), NamespaceMaster.class.getName(),
                "master1", "7443", ca.toString());
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(masterOut).contains("ready"));

        Path config = Files.writeString(dir.resolve("apilb.yaml"), """
                listeners:
                  - { name: apiserver, address: 0.0.0.0:6443 }
                backends:
                  - { name: master1, address: 127.0.0.1:7443 }
                health:
                  interval: 1s
                  timeout: 1s
                  fall: 2
                  tls: { ca: %s, serverName: kubernetes }
                admin:
                  address: 127.0.0.1:8404
                """.formatted(ca));
        ApilbProcess apilb = add(ApilbProcess.start(List.of("ip", "netns", "exec", ns), dir,
                "--config", config.toString()));
        awaitOrFail("master1 UP", Duration.ofSeconds(60), apilb,
                () -> health(curl(ns, "/api/v1/backends")).equalsIgnoreCase("UP"));

        Process clientsProcess = start(dir.resolve("clients.err"), List.of("ip", "netns", "exec", ns, java(),
                "-Xmx64m", "-cp", System.getProperty("java.class.path"), NamespaceClients.class.getName(),
                "127.0.0.1", "6443"), false);
        BufferedReader answers = new BufferedReader(new InputStreamReader(clientsProcess.getInputStream(),
                StandardCharsets.UTF_8));
        PrintWriter commands = new PrintWriter(clientsProcess.getOutputStream(), true, StandardCharsets.UTF_8);
        assertEquals("ready", answers.readLine());
        commands.println("open");
        assertEquals("ok master1", answers.readLine());

        int outputBefore = apilb.output().length();
        commands.println("flood 40");
        String flooded = answers.readLine();
        assertTrue(flooded.startsWith("ok "), flooded);
        await("EADDRNOTAVAIL counted").atMost(Duration.ofSeconds(10))
                .until(() -> apilb.output().contains("(eaddrnotavail)"));
        long holdUntil = System.nanoTime() + HOLD.toNanos();
        int pings = 0;
        while (System.nanoTime() < holdUntil) {
            commands.println("ping");
            assertEquals("ok master1", answers.readLine(), "the long-lived connection passes data");
            pings++;
            // The flood goes on: a port that comes free is taken again, so probes meet the shortage too.
            commands.println("flood 5");
            flooded = answers.readLine();
            Thread.sleep(200);
        }
        commands.println("release");
        assertTrue(answers.readLine().startsWith("ok "));
        long floodEnded = System.nanoTime();
        await("a new client served after the flood").atMost(RECOVERY).pollInterval(Duration.ofMillis(100))
                .until(() -> Commands.run(Duration.ofSeconds(2), "ip", "netns", "exec", ns, "curl", "-s",
                        "--max-time", "1", "--cacert", ca.toString(), "--resolve", "kubernetes:6443:127.0.0.1",
                        "-o", "/dev/null", "-w", "%{http_code}", "https://kubernetes:6443/version").output()
                        .strip().equals("200"));
        long recoveryMs = (System.nanoTime() - floodEnded) / 1_000_000;

        commands.println("ping");
        assertEquals("ok master1", answers.readLine(), "the long-lived connection is still open");
        String backends = curl(ns, "/api/v1/backends");
        assertEquals("up", health(backends), backends);
        String during = apilb.output().substring(outputBefore);
        assertTrue(!during.contains("-> DOWN"), during);
        String metrics = curl(ns, "/metrics");
        double ports = metric(metrics, "apilb_local_resource_errors_total\\{kind=\"eaddrnotavail\"\\}");
        double l4res = metric(metrics, "apilb_health_checks_total\\{backend=\"master1\",result=\"L4RES\"\\}");
        assertTrue(ports > 0, metrics);
        assertTrue(l4res > 0, "a probe ran into the shortage\n" + metrics);
        awaitProbesGoOn(() -> curl(ns, "/metrics"), apilb);
        System.out.printf("EADDRNOTAVAIL: 8 local ports; flood of %s connections; %d pings on the long-lived "
                        + "connection during it; eaddrnotavail errors counted %.0f, L4RES probes %.0f, master UP "
                        + "throughout; new client served %d ms after the flood ended%n",
                flooded.substring(3), pings, ports, l4res, recoveryMs);
        commands.close();
        clientsProcess.waitFor(10, TimeUnit.SECONDS);
        master.getOutputStream().close();
    }

    private <T extends AutoCloseable> T add(T closeable) {
        opened.add(closeable);
        return closeable;
    }

    private Process start(Path output, String... command) throws IOException {
        return start(output, List.of(command), true);
    }

    /** Starts a process this test stops by pid afterwards; its output goes to {@code output} or stays piped. */
    private Process start(Path output, List<String> command, boolean redirect) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command);
        if (redirect) {
            pb.redirectErrorStream(true).redirectOutput(output.toFile());
        } else {
            pb.redirectError(output.toFile());
        }
        Process p = pb.start();
        opened.add(() -> {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        });
        return p;
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
        for (String ns : namespaces) {
            Commands.run(Duration.ofSeconds(10), "ip", "netns", "del", ns);
        }
    }

    private static void awaitOrFail(String what, Duration timeout, ApilbProcess apilb, Callable<Boolean> condition) {
        try {
            await(what).atMost(timeout).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(condition);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("no " + what + " within " + timeout + "; apilb's output:\n" + apilb.output(), e);
        }
    }

    /** The master is still probed after the shortage: a probe that met it must not end probing. */
    private static void awaitProbesGoOn(Callable<String> metrics, ApilbProcess apilb) throws Exception {
        double before = probes(metrics.call());
        awaitOrFail("two more probes of master1", Duration.ofSeconds(10), apilb,
                () -> probes(metrics.call()) >= before + 2);
    }

    private static double probes(String metrics) {
        double n = 0;
        Matcher m = Pattern.compile("(?m)^apilb_health_checks_total\\{backend=\"master1\",result=\"\\w+\"\\} (\\S+)$")
                .matcher(metrics);
        while (m.find()) {
            n += Double.parseDouble(m.group(1));
        }
        return n;
    }

    private static String curl(String ns, String path) {
        Commands.Result r = Commands.run(Duration.ofSeconds(5), "ip", "netns", "exec", ns, "curl", "-s",
                "--max-time", "3", "http://127.0.0.1:8404" + path);
        if (!r.ok()) {
            throw new IllegalStateException("curl " + path + ": " + r.output());
        }
        return r.output();
    }

    private static String get(String url) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(3))
                .build(), HttpResponse.BodyHandlers.ofString());
        return r.body();
    }

    private static String health(String backendsJson) throws IOException {
        JsonNode root = JSON.readTree(backendsJson);
        JsonNode list = root.has("backends") ? root.get("backends") : root;
        return list.get(0).get("health").asText();
    }

    private static double metric(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + series + " (\\S+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    /** The descriptor numbers open in the process. */
    private static Set<Long> openDescriptors(long pid) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.map(p -> Long.parseLong(p.getFileName().toString())).collect(Collectors.toSet());
        }
    }

    /** The number the kernel gives the next descriptor: EMFILE when it is not below the soft limit. */
    private static long lowestFree(Set<Long> open) {
        long n = 0;
        while (open.contains(n)) {
            n++;
        }
        return n;
    }

    private static void setSoftLimit(long pid, long soft) {
        Commands.Result r = Commands.run(Duration.ofSeconds(5), "prlimit", "--pid", Long.toString(pid),
                "--nofile=" + soft + ":" + NOFILE);
        assertTrue(r.ok(), r.output());
    }

    /** A client that connects and sends the first byte of a TLS record, so apilb dials a master for it. */
    private static Socket floodConnection(InetSocketAddress lb) throws IOException {
        Socket s = new Socket();
        s.connect(lb, 2000);
        s.getOutputStream().write(0x16);
        return s;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void ip(String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "ip";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Commands.Result r = Commands.run(Duration.ofSeconds(10), cmd);
        assertTrue(r.ok(), String.join(" ", cmd) + ": " + r.output());
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
