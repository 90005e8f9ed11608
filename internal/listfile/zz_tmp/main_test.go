package rt
import ("testing";"os";"io";"errors";"github.com/avis-lv/gateway/internal/listfile")
func TestRead(t *testing.T){
	f,_:=os.Open(os.Getenv("F")); defer f.Close()
	st,_:=f.Stat()
	var r listfile.Reader; var err error
	if os.Getenv("X")!="" { r,err=listfile.NewXLSXReader(f,st.Size(),listfile.DefaultLimits()) } else { r,err=listfile.NewCSVReader(f,listfile.DefaultLimits()) }
	if err!=nil{t.Fatal(err)}
	good,bad:=0,0; codes:=map[string]int{}
	for { _,err:=r.Next(); if err==io.EOF{break}; var re *listfile.RowError; if errors.As(err,&re){bad++; codes[re.Code]++; if bad<4 {t.Log(re.Message("lv"))}; continue}; if err!=nil{t.Fatal(err)}; good++}
	t.Log(good,bad,codes); t.Log(r.Progress())
}
