package io.jseek.spark;

import io.jseek.core.JseekException;
import java.util.Arrays;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

/**
 * Batch generation over a DataFrame: each executor JVM loads the model once and runs its partitions' rows through
 * jseek's continuous-batching scheduler. The result is the input rows with {@code completion}, {@code reasoning},
 * {@code finish_reason}, {@code prompt_tokens} and {@code completion_tokens} added. With the spec's batch-invariant
 * mode (the default) and per-row seeds, a row's answer is the same however the rows are partitioned, and the same as
 * {@code jseek} generating it alone in the same mode. Progress shows in the Spark UI as the accumulators
 * "jseek rows", "jseek tokens generated" and "jseek generation ms", each task's own in its row of the stage's task
 * table (its tokens/s: tokens ÷ ms).
 */
public final class JseekGeneration {
    private JseekGeneration() {
    }

    public static Dataset<Row> generate(Dataset<Row> prompts, GenerationSpec spec) {
        StructType in = prompts.schema();
        int promptIndex = index(in, spec.promptColumn(), "prompt", DataTypes.StringType);
        int seedIndex = spec.seedColumn() == null ? -1 : index(in, spec.seedColumn(), "seed", null);
        if (seedIndex >= 0) {
            DataType t = in.fields()[seedIndex].dataType();
            if (!(t.equals(DataTypes.LongType) || t.equals(DataTypes.IntegerType))) {
                throw new JseekException("the seed column " + spec.seedColumn() + " must be a long or an int, not "
                        + t.simpleString());
            }
        }
        for (String added : new String[] {"completion", "reasoning", "finish_reason", "prompt_tokens", "completion_tokens"}) {
            if (Arrays.asList(in.fieldNames()).contains(added)) {
                throw new JseekException("the input already has a column " + added + ", which generation adds");
            }
        }
        StructType out = in.add("completion", DataTypes.StringType).add("reasoning", DataTypes.StringType)
                .add("finish_reason", DataTypes.StringType).add("prompt_tokens", DataTypes.IntegerType)
                .add("completion_tokens", DataTypes.IntegerType);
        SparkSession session = prompts.sparkSession();
        LongAccumulator tokens = session.sparkContext().longAccumulator("jseek tokens generated");
        LongAccumulator rows = session.sparkContext().longAccumulator("jseek rows");
        LongAccumulator millis = session.sparkContext().longAccumulator("jseek generation ms");
        return prompts.mapPartitions(new GeneratePartition(spec, promptIndex, seedIndex, tokens, rows, millis),
                Encoders.row(out));
    }

    private static int index(StructType schema, String column, String what, DataType want) {
        int i = Arrays.asList(schema.fieldNames()).indexOf(column);
        if (i < 0) {
            throw new JseekException("no " + what + " column " + column + " in " + schema.simpleString());
        }
        if (want != null && !schema.fields()[i].dataType().equals(want)) {
            throw new JseekException("the " + what + " column " + column + " must be a string, not "
                    + schema.fields()[i].dataType().simpleString());
        }
        return i;
    }
}
