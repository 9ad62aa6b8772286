package io.jseek.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.train.AdditionTask;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rejection-sampled distillation data on local[2] with the embedded model as teacher: every kept row is a correct
 * answer by the task's verifier, some are kept, the Parquet output is marked complete, and the same seed gives the
 * same data in another partitioning.
 */
class JseekDistillDataTest {
    @TempDir
    Path tmp;

    @Test
    void keepsOnlyVerifiedAnswersAndWritesParquet() {
        SparkSession spark = SparkSession.builder().master("local[2]").appName("jseek-distill")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").getOrCreate();
        try {
            GenerationSpec spec = GenerationSpec.of(JseekGenerationTest.MODEL).withSampling(64, 1.0f, 1, 0, 0)
                    .withExecutor(8, 0, 1, true);
            AdditionTask task = new AdditionTask(3, 3, 2, 0.1);
            String a = tmp.resolve("a").toString();
            var result = JseekDistillData.run(spark, spec, task, 12, 4, 3, 3, a);
            assertEquals(48, result.sampled());
            assertTrue(result.kept() > 0 && result.kept() <= 48, result.toString());
            assertTrue(Files.exists(Path.of(a, "_SUCCESS")));
            List<Row> rows = spark.read().parquet(a).collectAsList();
            for (Row r : rows) {
                String q = r.getAs("problem");
                long sum = 0;
                for (String t : q.substring(0, q.length() - 1).split("\\+")) {
                    sum += Long.parseLong(t);
                }
                assertEquals(sum, (long) r.getAs("answer"));
                assertEquals("<answer>" + sum + "</answer>", r.<String>getAs("completion").strip(), r.toString());
            }
            String b = tmp.resolve("b").toString();
            assertEquals(result, JseekDistillData.run(spark, spec, task, 12, 4, 3, 1, b));
            assertEquals(spark.read().parquet(a).orderBy("problem", "sample").collectAsList(),
                    spark.read().parquet(b).orderBy("problem", "sample").collectAsList());
        } finally {
            spark.stop();
        }
    }
}
