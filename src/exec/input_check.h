/* input_check.h - the built-in actions' checks of input files (annotations)
 * before their jobs start: action.h's check_inputs, called by the planner
 * for inputs that are source files and by the scheduler as soon as a rule
 * has written an input of a job that will run. */
#ifndef VL_INPUT_CHECK_H
#define VL_INPUT_CHECK_H

#include "graph/graph.h"
#include "util/error.h"

/* Checks e's inputs that no rule makes (they exist: the planner has
 * stat'ed them) when e's action has a check_inputs.  Errors name the rule
 * (path:line:col) and the file. */
int vl_input_check_sources(const struct vl_edge *e, struct vl_error *err);
/* Checks the outputs of producer, just written, for every consumer that
 * will run and whose action has a check_inputs.  Errors name the consumer's
 * rule and the file. */
int vl_input_check_outputs(const struct vl_edge *producer, struct vl_error *err);

#endif
