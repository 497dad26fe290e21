package tasks_test

import (
	"context"
	"fmt"

	"github.com/pkgvc/pkgvc/kinds/all"
	metamem "github.com/pkgvc/pkgvc/meta/mem"
	"github.com/pkgvc/pkgvc/objects"
	objmem "github.com/pkgvc/pkgvc/objects/mem"
	refsmem "github.com/pkgvc/pkgvc/refs/mem"
	"github.com/pkgvc/pkgvc/repo"
	"github.com/pkgvc/pkgvc/tasks"
)

func Example() {
	ctx := context.Background()
	st := repo.New(objects.New(objmem.New()), refsmem.New(), all.Kinds(), repo.WithMeta(metamem.New()))

	reg := tasks.NewRegistry()
	reg.Register("count", tasks.Op{
		Check: func(_ context.Context, args []string) (tasks.Lock, error) {
			if len(args) != 1 {
				return tasks.Lock{}, fmt.Errorf("%w: count takes REPO", tasks.ErrInvalid)
			}
			return tasks.Lock{Repo: args[0]}, nil // one count per repository at a time
		},
		Run: func(ctx context.Context, args []string, r *tasks.Report) (any, error) {
			for i := range 3 {
				r.Progress(int64(i+1), 3, "steps")
			}
			r.Logf("counted %s", args[0])
			return map[string]int{"steps": 3}, nil
		},
	})
	svc := tasks.New(tasks.NewStoreBackend(st), reg)

	// Any process sharing the store may queue; a Runner runs.
	t, err := svc.StartTask(ctx, tasks.Request{Op: "count", Args: []string{"dev"}})
	if err != nil {
		panic(err)
	}
	runner := tasks.NewRunner(svc, tasks.RunnerConfig{Workers: 2})
	if err := runner.Start(ctx); err != nil {
		panic(err)
	}
	defer runner.Close()

	done, err := svc.WaitTask(ctx, t.ID, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(done.State, done.Repo, string(done.Result), done.Progress.Done)
	// Output: completed dev {"steps":3} 3
}
