package io.apilb.admin;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.apilb.core.testing.FakeConnection;
import io.apilb.core.backend.AdminState;
import io.apilb.core.backend.Backend;
import io.apilb.core.backend.ProxiedConnection;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Health;
import io.apilb.core.backend.Termination;
import io.apilb.health.CheckResult;
import io.apilb.health.CheckStatus;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.File;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Opens the dashboard in a headless Chromium (the distribution's browser and driver, so that
 * nothing is downloaded) and watches it follow the pool without reloading.
 */
class DashboardBrowserTest {
    private static final Path CHROMIUM = Paths.get("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Paths.get("/usr/bin/chromedriver");
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path profile;
    private AdminFixture admin;
    private WebDriver browser;

    @BeforeEach
    void requireChromium() {
        // Selenium warns that its CDP bindings are older than the browser; the test uses WebDriver only.
        Logger.getLogger("org.openqa.selenium.devtools").setLevel(Level.SEVERE);
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "needs the Debian packages chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)");
    }

    @AfterEach
    void close() {
        if (browser != null) {
            browser.quit();
        }
        if (admin != null) {
            admin.close();
        }
    }

    private WebDriver open(AdminFixture fixture, int width, int height) {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--user-data-dir=" + profile.toAbsolutePath(),
                "--window-size=" + width + "," + height);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        WebDriver driver = new ChromeDriver(service, options);
        driver.manage().window().setSize(new Dimension(width, height));
        driver.get(fixture.uri("/").toString());
        return driver;
    }

    private WebElement cell(String backend, String label) {
        return browser.findElement(By.cssSelector("tr[data-backend='" + backend + "'] td[data-label='" + label + "']"));
    }

    private void populate() {
        Instant now = Instant.now();
        int i = 0;
        for (Backend b : admin.pool.all()) {
            i++;
            List<ProxiedConnection> open = new ArrayList<>();
            for (int c = 0; c < 10 * i; c++) {
                ProxiedConnection conn = new FakeConnection();
                b.connections().register(conn);
                open.add(conn);
            }
            for (int c = 0; c < 3 * i; c++) {
                b.connections().unregister(open.get(c));
            }
            b.stats().addBytesIn(180_000L * i * i);
            b.stats().addBytesOut(42_000_000L * i);
            admin.pool.setHealth(b, Health.UP, null);
            admin.checks.last.put(b.name(), new CheckResult(CheckStatus.L7OK, Duration.ofMillis(3 + i), now, 200, null));
        }
    }

    private void screenshot(String name) throws Exception {
        File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        Path target = Paths.get("target", name);
        Files.createDirectories(target.getParent());
        Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void followsHealthAndDrainsFromTheButtonWithoutReloading() throws Exception {
        admin = new AdminFixture();
        populate();
        browser = open(admin, 1440, 960);

        await().atMost(WAIT).until(() -> browser.findElements(By.cssSelector("tr[data-backend]")).size() == 3);
        assertTrue(cell("master2", "Health").getText().startsWith("UP"));
        ((JavascriptExecutor) browser).executeScript("window.loadedOnce = true;");

        Backend m2 = admin.pool.get("master2");
        admin.checks.last.put("master2", new CheckResult(CheckStatus.L4CON, Duration.ofMillis(1), Instant.now(), 0,
                "connection refused: /127.0.0.1:6443"));
        admin.pool.connectFailed(m2, ConnectFailure.CONNECT_REFUSED, new ConnectException("refused"));
        admin.pool.setHealth(m2, Health.DOWN, Termination.BACKEND_DOWN);
        await().atMost(WAIT).until(() -> cell("master2", "Health").getText().startsWith("DOWN"));
        assertTrue(cell("master2", "Last check").getText().contains("L4CON"));
        assertEquals(Boolean.TRUE, ((JavascriptExecutor) browser).executeScript("return window.loadedOnce === true;"),
                "the page must update in place, not reload");

        browser.findElement(By.cssSelector("tr[data-backend='master3'] button[data-action='drain']")).click();
        await().atMost(WAIT).until(() -> cell("master3", "State").getText().startsWith("DRAIN"));
        assertEquals(AdminState.DRAIN, admin.pool.get("master3").adminState());
        assertTrue(browser.findElement(By.cssSelector("tr[data-backend='master3'] button[data-action='drain']"))
                .getAttribute("disabled") != null, "the current state's button is disabled");

        // Connections come and go over a few polls; the page follows each step and charts the history.
        Backend m1 = admin.pool.get("master1");
        for (int step = 1; step <= 6; step++) {
            for (int c = 0; c < step; c++) {
                m1.connections().register(new FakeConnection());
            }
            String expected = (7 + step * (step + 1) / 2) + " active";
            await().atMost(WAIT).until(() -> cell("master1", "Connections").getText().startsWith(expected));
        }
        screenshot("dashboard.png");

        browser.manage().window().setSize(new Dimension(412, 915));
        await().atMost(WAIT).until(() -> cell("master1", "Health").isDisplayed());
        screenshot("dashboard-phone.png");

        admin.server.close();
        await().atMost(WAIT).until(() -> browser.findElement(By.id("offline")).isDisplayed());
        assertTrue(browser.findElement(By.id("offline")).getText().contains("unreachable"));
    }

    @Test
    void asksForTheTokenWhenTheApiAnswers401() throws Exception {
        admin = new AdminFixture("s3cret-token", null);
        browser = open(admin, 1280, 800);
        await().atMost(WAIT).until(() -> browser.findElements(By.cssSelector("tr[data-backend]")).size() == 3);

        browser.findElement(By.cssSelector("tr[data-backend='master1'] button[data-action='drain']")).click();
        WebElement input = await().atMost(WAIT).until(() -> browser.findElement(By.id("dialog-input")),
                WebElement::isDisplayed);
        input.sendKeys("s3cret-token");
        browser.findElement(By.id("dialog-ok")).click();

        await().atMost(WAIT).until(() -> admin.pool.get("master1").adminState() == AdminState.DRAIN);
        await().atMost(WAIT).until(() -> cell("master1", "State").getText().startsWith("DRAIN"));
        assertEquals("s3cret-token", ((JavascriptExecutor) browser)
                .executeScript("return sessionStorage.getItem('apilb.adminToken');"));
    }
}
