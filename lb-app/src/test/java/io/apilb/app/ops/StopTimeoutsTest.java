package io.apilb.app.ops;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.ConfigLoader;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every shipped place that gives apilb a time to stop before killing it fits the worst-case stop
 * of the config it runs: {@code shutdownDelay + shutdownGrace} plus what follows the grace.
 */
class StopTimeoutsTest {
    /**
     * What may follow the grace, each step bounded in the code: the proxy's event loops 2 s
     * ({@code ProxyServer.shutdown}), the health checker 5 s ({@code HealthChecker.close}), the admin
     * port 5 s ({@code AdminServer.close}), the log flush 2 s ({@code BatchingStdoutAppender.stop}),
     * the JVM's exit about 1 s.
     */
    private static final Duration AFTER_GRACE = Duration.ofSeconds(15);

    @Test
    void systemdUnitWaitsForTheWorstCaseStop() throws Exception {
        Matcher m = Pattern.compile("(?m)^TimeoutStopSec=(\\d+)s$")
                .matcher(Files.readString(RepoFiles.config("apilb.service")));
        assertTrue(m.find(), "TimeoutStopSec in seconds");
        assertFits("config/apilb.service TimeoutStopSec", Duration.ofSeconds(Long.parseLong(m.group(1))),
                RepoFiles.config("apilb.yaml"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void composeWaitsForTheWorstCaseStop() throws Exception {
        Map<String, Object> compose = new Yaml().load(Files.readString(RepoFiles.root().resolve("docker/compose.yaml")));
        Map<String, Object> apilb = (Map<String, Object>) ((Map<String, Object>) compose.get("services")).get("apilb");
        String period = (String) apilb.get("stop_grace_period");
        assertTrue(period.matches("\\d+s"), period);
        assertFits("docker/compose.yaml stop_grace_period", Duration.ofSeconds(Long.parseLong(period.replace("s", ""))),
                RepoFiles.config("apilb.yaml"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void staticPodWaitsForTheWorstCaseStop() throws Exception {
        Map<String, Object> pod = new Yaml().load(Files.readString(RepoFiles.config("apilb-static-pod.yaml")));
        Number grace = (Number) ((Map<String, Object>) pod.get("spec")).get("terminationGracePeriodSeconds");
        assertFits("config/apilb-static-pod.yaml terminationGracePeriodSeconds", Duration.ofSeconds(grace.longValue()),
                RepoFiles.config("apilb-on-masters.yaml"));
    }

    private static void assertFits(String what, Duration timeout, Path configFile) throws Exception {
        ApilbConfig c = ConfigLoader.load(configFile, name -> "unused");
        Duration worst = c.shutdownDelay().plus(c.shutdownGrace()).plus(AFTER_GRACE);
        assertTrue(timeout.compareTo(worst) >= 0, what + " " + timeout.toSeconds() + "s is shorter than the worst-case"
                + " stop of " + configFile.getFileName() + ": shutdownDelay " + c.shutdownDelay().toSeconds()
                + "s + shutdownGrace " + c.shutdownGrace().toSeconds() + "s + " + AFTER_GRACE.toSeconds() + "s");
    }
}
