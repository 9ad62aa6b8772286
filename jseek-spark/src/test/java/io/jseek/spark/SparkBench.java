package io.jseek.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Rows/s and tokens/s of {@link JseekGeneration} (docs/spark.md; a tool, not a test):
 * {@code SparkBench MASTER MODEL ROWS MAX_TOKENS SLOTS THREADS PARTITIONS [PARQUET_OUT]}. One warm-up job of a few rows first (the
 * model loads then); the measured job's rows are addition prompts with per-row seeds, sampled at temperature 1.
 */
public final class SparkBench {
    private SparkBench() {
    }

    public static void main(String[] a) {
        String master = a[0];
        String model = a[1];
        int rows = Integer.parseInt(a[2]);
        int maxTokens = Integer.parseInt(a[3]);
        int slots = Integer.parseInt(a[4]);
        int threads = Integer.parseInt(a[5]);
        int partitions = Integer.parseInt(a[6]);
        SparkSession spark = SparkSession.builder().master(master).appName("jseek-bench")
                .config("spark.ui.enabled", "false").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        GenerationSpec spec = GenerationSpec.of(model).withSeedColumn("seed").withSampling(maxTokens, 1.0f, 1, 0, 0)
                .withExecutor(slots, 0, threads, true);
        JseekGeneration.generate(frame(spark, 4, partitions), spec).collectAsList();
        long t0 = System.nanoTime();
        if (a.length > 7) {
            // Written as Parquet (Spark's committer marks the output complete with _SUCCESS only after every task).
            JseekGeneration.generate(frame(spark, rows, partitions), spec).write().mode("overwrite").parquet(a[7]);
        }
        List<Row> out = a.length > 7 ? spark.read().parquet(a[7]).collectAsList()
                : JseekGeneration.generate(frame(spark, rows, partitions), spec).collectAsList();
        double s = (System.nanoTime() - t0) / 1e9;
        long tokens = 0;
        for (Row r : out) {
            tokens += r.<Integer>getAs("completion_tokens");
        }
        System.out.printf("%s, %d partitions, %d slots, %d threads: %d rows in %.1f s = %.2f rows/s, %d tokens = %.1f "
                + "generated tokens/s%n", master, partitions, slots, threads, out.size(), s, out.size() / s, tokens, tokens / s);
        spark.stop();
    }

    static Dataset<Row> frame(SparkSession spark, int n, int partitions) {
        Random r = new Random(3);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create(i, (r.nextInt(900) + 100) + "+" + (r.nextInt(900) + 100) + "+" + (r.nextInt(900) + 100)
                    + "=", (long) i));
        }
        return spark.createDataFrame(rows, new StructType().add("id", DataTypes.IntegerType)
                .add("prompt", DataTypes.StringType).add("seed", DataTypes.LongType)).repartition(partitions);
    }
}
