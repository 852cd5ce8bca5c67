package io.apilb.core.resource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DescriptorBudgetTest {

    @ParameterizedTest(name = "limit {0}, {1} open, {2} configured -> {3}")
    @CsvSource({
            // limit, open now, configured, effective (reserve = open + 64)
            "1048576, 40,  20000, 20000",
            "40104,   40,  20000, 20000",
            "40103,   40,  20000, 19999",
            "1024,    36,  20000,   462",
            "1024,    36,    100,   100",
            "100,     90,  20000,     1",
            "0,       40,  20000, 20000",
    })
    void fitsTwoDescriptorsPerConnectionPlusTheReserveIntoTheLimit(long limit, long open, int configured,
                                                                  int effective) {
        assertEquals(effective, new DescriptorBudget(limit, open).fit(configured));
    }

    @Test
    void warnsWithTheNumbersOnlyWhenTheLimitIsLowered() {
        DescriptorBudget budget = new DescriptorBudget(1024, 36);
        assertNull(budget.warning(100));
        assertEquals("limits.maxConnections: 20000 needs 40100 open files (2 per connection + 100 reserve) but the "
                + "open-files limit is 1024: using maxConnections 462; raise LimitNOFILE (ulimit -n) to at least "
                + "40100 or lower limits.maxConnections", budget.warning(20000));
    }

    @Test
    void applyRemembersConfiguredAndEffectiveForTheApi() {
        DescriptorBudget budget = new DescriptorBudget(1024, 36);
        assertEquals(462, budget.apply(20000));
        assertEquals(462, budget.maxConnections());
        assertEquals(20000, budget.configuredMaxConnections());
        assertEquals(100, budget.apply(100));
        assertEquals(100, budget.maxConnections());
    }

    @Test
    void checkConfigPrintsTheSameWarning() {
        DescriptorBudget budget = new DescriptorBudget(1024, 36);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        budget.printWarning(20000, new PrintStream(out, true, StandardCharsets.UTF_8));
        assertEquals("WARNING: " + budget.warning(20000) + System.lineSeparator(),
                out.toString(StandardCharsets.UTF_8));
        out.reset();
        budget.printWarning(100, new PrintStream(out, true, StandardCharsets.UTF_8));
        assertTrue(out.toString(StandardCharsets.UTF_8).isEmpty());
    }
}
