package io.jseek.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.JseekException;
import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.Scheduler;
import io.jseek.model.CacheType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Generation over a DataFrame on local[2] equals, row for row, the in-process engine generating each row alone with
 * the same seed (batch-invariant mode), greedy and sampled, however the rows are partitioned.
 */
class JseekGenerationTest {
    static final String MODEL = Path.of(System.getProperty("jseek.models", "../models"), "jseek-r1-addition.gguf")
            .toAbsolutePath().toString();
    private static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2]").appName("jseek-test").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.sql.shuffle.partitions", "2").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static List<Row> prompts(int n) {
        List<Row> rows = new ArrayList<>();
        java.util.Random r = new java.util.Random(7);
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create(i, (r.nextInt(90) + 10) + "+" + (r.nextInt(90) + 10) + "+" + (r.nextInt(90) + 10) + "=",
                    1000L + i));
        }
        return rows;
    }

    static Dataset<Row> frame(List<Row> rows, int partitions) {
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("prompt", DataTypes.StringType)
                .add("seed", DataTypes.LongType);
        return spark.createDataFrame(rows, schema).repartition(partitions);
    }

    /** Each row alone through an in-process scheduler with one slot, in the same mode. */
    static List<Generation> alone(GenerationSpec spec, List<Row> rows) throws Exception {
        List<Generation> out = new ArrayList<>();
        try (LoadedModel m = LoadedModel.open(Path.of(spec.modelPath()), 2);
             Scheduler s = new Scheduler(m, new Scheduler.Config(1, m.config().contextLength(), m.config().contextLength(),
                     CacheType.F16, 256, 4, true))) {
            for (Row row : rows) {
                GeneratePartition.Job job = GeneratePartition.job(m, spec, row.getString(1), row.getLong(2));
                out.add(s.submit(job.prompt(), job.options(), new GenerationListener() {
                }).result().get());
            }
        }
        return out;
    }

    @Test
    void sampledRowsEqualTheInProcessEngineHoweverPartitioned() throws Exception {
        List<Row> rows = prompts(12);
        GenerationSpec spec = GenerationSpec.of(MODEL).withSeedColumn("seed").withSampling(40, 1.0f, 1, 0, 0)
                .withExecutor(4, 0, 1, true);
        List<Generation> want = alone(spec, rows);
        for (int partitions : new int[] {1, 3}) {
            List<Row> got = JseekGeneration.generate(frame(rows, partitions), spec).orderBy("id").collectAsList();
            assertEquals(rows.size(), got.size());
            for (int i = 0; i < rows.size(); i++) {
                Row g = got.get(i);
                assertEquals(i, g.getInt(0));
                assertEquals(want.get(i).content(), g.getAs("completion"), partitions + " partitions, row " + i);
                assertEquals(want.get(i).reasoning(), g.getAs("reasoning"), partitions + " partitions, row " + i);
                assertEquals(want.get(i).generatedTokens(), (int) g.getAs("completion_tokens"));
                assertEquals(want.get(i).promptTokens(), (int) g.getAs("prompt_tokens"));
                assertEquals(GeneratePartition.finishReason(want.get(i).stopReason()), g.getAs("finish_reason"));
            }
        }
    }

    @Test
    void greedyRowsAnswerTheSums() {
        List<Row> rows = prompts(6);
        GenerationSpec spec = GenerationSpec.of(MODEL).withSampling(64, 0, 1, 0, 0).withExecutor(4, 0, 1, true);
        List<Row> got = JseekGeneration.generate(frame(rows, 2), spec).orderBy("id").collectAsList();
        int right = 0;
        for (Row g : got) {
            String[] terms = g.getString(1).replace("=", "").split("\\+");
            int sum = Integer.parseInt(terms[0]) + Integer.parseInt(terms[1]) + Integer.parseInt(terms[2]);
            right += g.<String>getAs("completion").contains("<answer>" + sum + "</answer>") ? 1 : 0;
        }
        assertTrue(right >= 5, right + " of 6 greedy answers right: " + got);
    }

    @Test
    void badInputIsAClearError() {
        List<Row> rows = prompts(2);
        var e = assertThrows(JseekException.class, () -> JseekGeneration.generate(frame(rows, 1),
                GenerationSpec.of(MODEL).withPromptColumn("nope", true)));
        assertTrue(e.getMessage().contains("no prompt column nope"), e.getMessage());
        e = assertThrows(JseekException.class, () -> JseekGeneration.generate(frame(rows, 1),
                GenerationSpec.of(MODEL).withPromptColumn("id", true)));
        assertTrue(e.getMessage().contains("must be a string"), e.getMessage());
        var missing = assertThrows(Exception.class, () -> JseekGeneration.generate(frame(rows, 1),
                GenerationSpec.of("/nowhere/model.gguf")).collectAsList());
        assertTrue(String.valueOf(missing.getMessage()).contains("cannot read the model at /nowhere/model.gguf"),
                missing.getMessage());
    }
}
