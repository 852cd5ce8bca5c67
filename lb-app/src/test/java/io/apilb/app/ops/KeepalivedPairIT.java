package io.apilb.app.ops;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.apilb.app.ApilbProcess;
import io.apilb.core.testing.TestPki;

import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The HA pair for real: two apilb instances, each with its own Keepalived, share a VIP; a client
 * calls the API through the VIP; SIGTERM to the apilb that holds it moves the VIP to the other
 * one, and the client resumes within seconds.
 *
 * <p>Everything lives in three network namespaces this test creates and deletes, joined by a
 * bridge in the third, with link-local addresses (169.254.77.0/24) only:
 * <pre>
 *   apilb-a-ID  eth0 169.254.77.1   apilb (0.0.0.0:6443, admin 127.0.0.1:8404) + keepalived, priority 110
 *   apilb-b-ID  eth0 169.254.77.2   apilb (0.0.0.0:6443, admin 127.0.0.1:8404) + keepalived, priority 100
 *   apilb-br-ID br0  169.254.77.254 three TLS masters (:16443-16445) and the client
 *   VIP 169.254.77.100, VRRP unicast between .1 and .2
 * </pre>
 * Keepalived runs the {@code vrrp_script chk_apilb} block of {@code config/keepalived.conf} as
 * shipped, and apilb has the {@code shutdownDelay} recommended for a pair, so the listener still
 * accepts while the VIP moves. Needs root, iproute2, keepalived and curl; skipped without them.
 */
class KeepalivedPairIT {
    private static final String SUBNET = "169.254.77.";
    private static final String VIP = SUBNET + "100";
    private static final String BRIDGE_ADDRESS = SUBNET + "254";
    private static final int[] MASTER_PORTS = {16443, 16444, 16445};
    /**
     * The longest a client may go without an answer. Without shutdownDelay the listener closes at
     * SIGTERM and clients are refused until the VIP has moved, which VRRP's own timers keep at 4 s
     * or more (fall 2 x 1 s, then the peer's master-down timer of about 3 adverts); with it, they
     * should only see the loop's own pace. 3 s tells the two apart and leaves room for a slow CI
     * machine: the VIP would have to take more than 9 s to move.
     */
    private static final Duration MAX_GAP = Duration.ofSeconds(3);
    /**
     * As recommended for a Keepalived pair: longer than the VIP takes to move (fall 2 x interval 1s,
     * then about three adverts of 1s before the peer takes over), so that the listener still
     * accepts until clients arrive at the peer.
     */
    private static final Duration SHUTDOWN_DELAY = Duration.ofSeconds(6);
    private static final Pattern CHECK_SCRIPT = Pattern.compile("(?ms)^vrrp_script chk_apilb \\{.*?^\\}");

    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final List<ApilbProcess> apilbs = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();
    private ClientLoop client;

    @BeforeEach
    void requirements() {
        assumeTrue(Commands.isRoot(), "not root: creating network namespaces and running keepalived need it");
        for (String[] tool : new String[][] {{"ip", "iproute2"}, {"keepalived", "keepalived"}, {"curl", "curl"}}) {
            Commands.assumeInstalled(tool[0], tool[1], "the HA pair cannot be built");
        }
        assumeTrue(Commands.run(Duration.ofSeconds(10), "ip", "netns", "list").ok(),
                "ip netns does not work here (no permission to create network namespaces)");
    }

    @Test
    void sigtermToTheVipHoldersApilbMovesTheVipAndClientsResumeWithinSeconds(@TempDir Path dir) throws Exception {
        String id = HexFormat.of().formatHex(new SecureRandom().generateSeed(3));
        String nsA = "apilb-a-" + id;
        String nsB = "apilb-b-" + id;
        String nsBridge = "apilb-br-" + id;
        network(nsA, nsB, nsBridge);

        Path caFile = TestPki.writeCa(TestPki.ca(), dir, "ca.crt");
        startMasters(nsBridge, dir);

        ApilbProcess apilbA = startApilb(nsA, dir.resolve("a"), caFile);
        ApilbProcess apilbB = startApilb(nsB, dir.resolve("b"), caFile);
        awaitOrFail("both apilb instances answer /healthz with 200", Duration.ofSeconds(60),
                () -> healthz(nsA).equals("200") && healthz(nsB).equals("200"));

        startKeepalived(nsA, dir.resolve("a"), 110, SUBNET + "1", SUBNET + "2");
        startKeepalived(nsB, dir.resolve("b"), 100, SUBNET + "2", SUBNET + "1");
        awaitOrFail("the VIP on " + nsA + " (priority 110)", Duration.ofSeconds(30),
                () -> holdsVip(nsA) && !holdsVip(nsB));

        client = ClientLoop.start(nsBridge, VIP, 6443, caFile, 1500, Duration.ofSeconds(150));
        awaitOrFail("the client served through the VIP by all three masters", Duration.ofSeconds(30),
                () -> client.successesAfter(0) >= 6 && client.mastersSeen().size() == 3);

        long sigterm = System.nanoTime();
        apilbA.signal("TERM");
        awaitOrFail("the VIP on " + nsB + " after SIGTERM to " + nsA + "'s apilb", Duration.ofSeconds(30),
                () -> holdsVip(nsB) && !holdsVip(nsA));
        long moved = System.nanoTime();
        awaitOrFail("client calls succeeding again through the VIP", Duration.ofSeconds(20),
                () -> client.successesAfter(moved) >= 3);

        Duration gap = client.longestGap(sigterm, moved);
        System.out.printf("client gap during failover: %d ms (VIP moved %d ms after SIGTERM, %d failed calls)%n",
                gap.toMillis(), (moved - sigterm) / 1_000_000, client.failuresAfter(sigterm));
        assertTrue(gap.compareTo(MAX_GAP) < 0, "client gap " + gap.toMillis() + " ms (expected: < "
                + MAX_GAP.toMillis() + " ms)\n" + diagnostics());
        assertTrue(apilbB.alive(), "the peer keeps serving\n" + diagnostics());
        assertEquals(0, apilbA.waitForExit(Duration.ofSeconds(30)), apilbA.output());
    }

    /** Three namespaces, a bridge in the third, a veth from it into each of the other two. */
    private void network(String nsA, String nsB, String nsBridge) {
        for (String ns : List.of(nsA, nsB, nsBridge)) {
            ip("netns", "add", ns);
            namespaces.add(ns);
            ip("-n", ns, "link", "set", "lo", "up");
        }
        ip("-n", nsBridge, "link", "add", "br0", "type", "bridge");
        ip("-n", nsBridge, "addr", "add", BRIDGE_ADDRESS + "/24", "dev", "br0");
        ip("-n", nsBridge, "link", "set", "br0", "up");
        int host = 1;
        for (String ns : List.of(nsA, nsB)) {
            String port = "veth" + host;
            ip("-n", nsBridge, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
            ip("-n", nsBridge, "link", "set", port, "master", "br0");
            ip("-n", nsBridge, "link", "set", port, "up");
            ip("-n", ns, "addr", "add", SUBNET + host + "/24", "dev", "eth0");
            ip("-n", ns, "link", "set", "eth0", "up");
            host++;
        }
    }

    private void startMasters(String nsBridge, Path dir) throws Exception {
        char[] password = "masters".toCharArray();
        Path keyStore = dir.resolve("masters.p12");
        KeyStore ks = TestPki.server("apilb-pair-master").toKeyStore(password);
        try (OutputStream out = Files.newOutputStream(keyStore)) {
            ks.store(out, password);
        }
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", nsBridge, java(), "-Xmx64m",
                "-cp", System.getProperty("java.class.path"), LinkLocalMasters.class.getName(),
                BRIDGE_ADDRESS, keyStore.toString(), new String(password)));
        for (int port : MASTER_PORTS) {
            cmd.add(Integer.toString(port));
        }
        Path log = dir.resolve("masters.out");
        logs.add(log);
        processes.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start());
        awaitOrFail("the masters listening in " + nsBridge, Duration.ofSeconds(30),
                () -> Files.readString(log).contains("ready"));
    }

    private ApilbProcess startApilb(String ns, Path dir, Path caFile) throws IOException {
        Files.createDirectories(dir);
        StringBuilder backends = new StringBuilder();
        for (int i = 0; i < MASTER_PORTS.length; i++) {
            backends.append("  - { name: master").append(i + 1).append(", address: ").append(BRIDGE_ADDRESS)
                    .append(':').append(MASTER_PORTS[i]).append(" }\n");
        }
        Path config = Files.writeString(dir.resolve("apilb.yaml"), """
                listeners:
                  - { name: apiserver, address: 0.0.0.0:6443 }
                backends:
                %shealth:
                  interval: 1s
                  timeout: 1s
                  tls: { ca: %s, serverName: kubernetes }
                admin:
                  address: 127.0.0.1:8404
                shutdownDelay: %s
                shutdownGrace: 5s
                """.formatted(backends, caFile, SHUTDOWN_DELAY.toMillis() + "ms"));
        ApilbProcess p = ApilbProcess.start(List.of("ip", "netns", "exec", ns), dir, "--config", config.toString());
        apilbs.add(p);
        logs.add(dir.resolve("apilb.out"));
        return p;
    }

    /** Keepalived with the shipped chk_apilb script, VRRP by unicast between the two nodes. */
    private void startKeepalived(String ns, Path dir, int priority, String self, String peer) throws IOException {
        Matcher script = CHECK_SCRIPT.matcher(Files.readString(RepoFiles.config("keepalived.conf")));
        assertTrue(script.find(), "config/keepalived.conf has a vrrp_script chk_apilb block");
        Path conf = Files.writeString(dir.resolve("keepalived.conf"), """
                global_defs {
                    router_id %s
                    script_user nobody
                    enable_script_security
                }

                %s

                vrrp_instance apiserver_vip {
                    state BACKUP
                    interface eth0
                    virtual_router_id 51
                    priority %d
                    advert_int 1
                    authentication {
                        auth_type PASS
                        auth_pass apilbVIP
                    }
                    unicast_src_ip %s
                    unicast_peer {
                        %s
                    }
                    virtual_ipaddress {
                        %s/24 dev eth0
                    }
                    track_script {
                        chk_apilb
                    }
                }
                """.formatted(ns, script.group(), priority, self, peer, VIP));
        Path log = dir.resolve("keepalived.out");
        logs.add(log);
        processes.add(new ProcessBuilder("ip", "netns", "exec", ns, "keepalived", "--dont-fork", "--log-console",
                "--log-detail", "--vrrp", "--use-file", conf.toString(),
                "--pid", dir.resolve("keepalived.pid").toString(),
                "--vrrp_pid", dir.resolve("keepalived-vrrp.pid").toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start());
    }

    private static String healthz(String ns) {
        return Commands.run(Duration.ofSeconds(5), "ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null",
                "-w", "%{http_code}", "--max-time", "1", "http://127.0.0.1:8404/healthz").output().strip();
    }

    private static boolean holdsVip(String ns) {
        return Commands.run(Duration.ofSeconds(5), "ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "eth0")
                .output().contains(" " + VIP + "/");
    }

    private static void ip(String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "ip";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Commands.Result r = Commands.run(Duration.ofSeconds(10), cmd);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + r.output());
        }
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private void awaitOrFail(String what, Duration timeout, Callable<Boolean> condition) {
        try {
            await(what).atMost(timeout).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(condition);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("no " + what + " within " + timeout + "\n" + diagnostics(), e);
        }
    }

    /** The last lines of every log, and the client's record, for a failure message. */
    private String diagnostics() {
        StringBuilder sb = new StringBuilder();
        if (client != null) {
            sb.append(client.recentFailures());
        }
        for (Path log : logs) {
            try {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                sb.append("--- ").append(log).append('\n');
                lines.subList(Math.max(0, lines.size() - 15), lines.size()).forEach(l -> sb.append(l).append('\n'));
            } catch (IOException e) {
                sb.append("--- ").append(log).append(": ").append(e).append('\n');
            }
        }
        return sb.toString();
    }

    /** Stops every process this test started, by pid (children of keepalived too), then deletes the namespaces. */
    @AfterEach
    void cleanUp() throws Exception {
        if (client != null) {
            client.close();
        }
        for (Process p : processes) {
            List<ProcessHandle> children = p.descendants().toList();
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            for (ProcessHandle child : children) {
                child.destroyForcibly();
                child.onExit().get(5, TimeUnit.SECONDS);
            }
        }
        for (ApilbProcess p : apilbs) {
            p.close();
        }
        for (String ns : namespaces) {
            Commands.run(Duration.ofSeconds(10), "ip", "netns", "del", ns);
        }
        File leftover = new File("/var/run/netns");
        for (String ns : namespaces) {
            assertTrue(!new File(leftover, ns).exists(), "namespace " + ns + " removed");
        }
    }
}
